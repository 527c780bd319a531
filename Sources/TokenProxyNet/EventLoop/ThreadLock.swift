#if canImport(Glibc)
    import Glibc
#endif

/// A value behind a plain `pthread_mutex_t`, for state that many *threads* (not tasks) touch
/// briefly: the proxy's per-connection threads. `Synchronization.Mutex` spins in its slow path
/// on Linux, and with more threads than cores the spinning thread keeps the holder off the
/// CPU (measured: a quarter of the proxy's CPU in `_MutexHandle._lockSlow` at 16 connections).
/// The corresponding C functions are `pthread_mutex_lock` and `pthread_mutex_unlock`.
package final class ThreadLock<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access.
    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
