#if canImport(Glibc)
    import Glibc
#endif

/// A value behind a `pthread_rwlock_t`: the one lock for state that *threads* (event loops,
/// the proxy's connection threads) touch briefly.
///
/// Why not `Synchronization.Mutex`: it spins in its slow path on Linux, and with more threads
/// than cores the spinning thread keeps the holder off the CPU (measured: a quarter of the
/// proxy's CPU in `_MutexHandle._lockSlow` at 16 connections). Why a reader-writer lock:
/// values read on every request and written rarely (the token API handler, the proxy router)
/// let readers on different threads proceed together (measured: 15 % of the token API's CPU in
/// a mutex's slow path at 16 connections); exclusive use costs the same as a mutex.
/// The corresponding C functions are `pthread_rwlock_rdlock`, `pthread_rwlock_wrlock` and
/// `pthread_rwlock_unlock`.
///
/// The two `with…` methods are `@inlinable` so that callers in other modules get them
/// specialized for their `Value` (unspecialized, a read cost a few hundred instructions of
/// generic metadata work on every token request).
package final class ThreadLock<Value>: @unchecked Sendable {
    @usableFromInline let lock: UnsafeMutablePointer<pthread_rwlock_t>
    @usableFromInline var value: Value

    package init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        precondition(pthread_rwlock_init(lock, nil) == 0, "pthread_rwlock_init failed")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` with exclusive access.
    @inlinable
    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }

    /// Runs `body` with shared access: other readers proceed at the same time.
    @inlinable
    package func withReadLock<Result>(_ body: (borrowing Value) throws -> Result) rethrows
        -> Result
    {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }
}
