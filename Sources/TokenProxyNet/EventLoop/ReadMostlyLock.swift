#if canImport(Glibc)
    import Glibc
#endif

/// A value read on every request and written rarely (the newest tokens), behind a
/// reader-writer lock: readers on different threads do not wait for each other, which a plain
/// `Mutex` made them do on the token API's hot path (measured: 15 % of CPU in the mutex's
/// slow path at 16 connections).
/// The corresponding C functions are `pthread_rwlock_rdlock` and `pthread_rwlock_wrlock`.
package final class ReadMostlyLock<Value>: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

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

    /// Runs `body` with shared access.
    package func read<Result>(_ body: (borrowing Value) throws -> Result) rethrows -> Result {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    /// Runs `body` with exclusive access.
    package func write<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
