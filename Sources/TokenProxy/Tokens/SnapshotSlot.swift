import Synchronization
import TokenProxyCore
import TokenProxyNet

#if canImport(Glibc)
    import Glibc
#endif

/// One credential's published snapshot behind the daemon's reader-writer lock (token API and
/// proxy readers on every event loop read at once and must not wait for each other, see
/// ``TokenSnapshotTable``), with a count of the writes, so that a reader who kept the snapshot
/// it read last (the token API keeps one per connection, ``TokenAPIConnection``) learns with
/// one atomic load that it is still the current one, and takes no lock at all.
///
/// Order: a writer replaces the value under the lock, then bumps the generation (releasing);
/// a reader loads the generation (acquiring) before it reads the value. A reader who saw
/// generation g thus reads a value at least as new as the write that made g: tagging the
/// value with g can make it look older than it is (one more locked read later), never newer.
///
/// Every write also prepares what the proxy injects for the new snapshot (``ProxyToken``), so
/// that a proxied request reads one concrete object instead of working through the generic
/// snapshot's accessors and the expiry arithmetic every time.
///
/// The lock is a `pthread_rwlock_t` used directly rather than through `ThreadLock`: that
/// class's `@inlinable` generic methods are not specialized in this module (the binary holds
/// only their generic bodies), and a read through them cost ~335 instructions of generic
/// metadata and exclusivity work per proxied request, where the lock itself costs ~60.
package final class SnapshotSlot: ReadMostlyBox, @unchecked Sendable {
    // `@unchecked Sendable`: `entry` is read only under the read lock and written only
    // under the write lock (every access below), which is what makes sharing it sound.
    package typealias Value = TokenStore.Snapshot?

    private struct Entry {
        var value: Value
        var proxyToken: ProxyToken?
    }

    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    /// Not checked for exclusivity at run time: the lock orders every access (a check per
    /// read was a runtime call on the proxy's hot path).
    @exclusivity(unchecked) private var entry: Entry
    private let writes = Atomic<UInt64>(0)
    /// This slot in the readers' per-thread caches (`ThreadReadCache`).
    private let owner = ThreadReadCache.newOwner()

    init(_ initial: Value) {
        entry = Entry(value: initial, proxyToken: initial.map(ProxyToken.init))
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        precondition(pthread_rwlock_init(lock, nil) == 0, "pthread_rwlock_init failed")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// How many times the value was written; a reader compares it with the one it read at.
    package var generation: UInt64 { writes.load(ordering: .acquiring) }

    package func withReadLock<Result>(_ body: (borrowing Value) throws -> Result) rethrows
        -> Result
    {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(entry.value)
    }

    package func read() -> Value {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return entry.value
    }

    /// What the proxy injects for the current snapshot; nil when none is published.
    package func proxyToken() -> ProxyToken? {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return entry.proxyToken
    }

    /// Runs `body` with what the proxy injects for the current snapshot (nil when none is
    /// published): from the calling thread's cache when the slot was not written since this
    /// thread last read it, without the lock or a retain (`ThreadReadCache`). The proxy's
    /// path: `proxyToken()` cost a read lock and a retained result, four atomic instructions.
    @inline(__always)
    package func withProxyToken<Result>(_ body: (ProxyToken?) throws -> Result) rethrows
        -> Result
    {
        try ThreadReadCache.withValue(
            owner: owner, generation: generation, load: { proxyToken() }, body)
    }

    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        defer { writes.add(1, ordering: .releasing) }
        pthread_rwlock_wrlock(lock)
        defer {
            // Prepared again after every write, also one that threw: the value may have changed.
            if entry.proxyToken?.snapshot !== entry.value {
                entry.proxyToken = entry.value.map(ProxyToken.init)
            }
            pthread_rwlock_unlock(lock)
        }
        return try body(&entry.value)
    }
}

/// One published snapshot as the proxy injects it: its `Authorization` value, its generation
/// and the last instant it may be injected, taken out of the generic snapshot once, when the
/// slot is written, rather than on every proxied request. Immutable.
package final class ProxyToken: Sendable {
    package let snapshot: TokenStore.Snapshot
    /// `Bearer <token>` (RFC 6750 §2.1).
    package let authorization: Redacted<String>
    /// ``IssuedToken/generation``.
    package let generation: String
    /// The last instant it may be injected: `Limits.Proxy.minimumTokenValidity` before its
    /// expiry; with no minimum, just before the expiry (`strictly`).
    private let usableUntil: ContinuousClock.Instant
    /// `usableUntil` in `ContinuousTime` nanoseconds (the event loops' clock), for a caller
    /// that has the time already as one (``isUsable(atNanoseconds:)``).
    private let usableUntilNanoseconds: UInt64
    private let strictly: Bool

    init(_ snapshot: TokenStore.Snapshot) {
        self.snapshot = snapshot
        let token = snapshot.value
        authorization = token.authorization
        generation = token.generation
        let minimum = Limits.Proxy.minimumTokenValidity
        strictly = minimum <= .zero
        usableUntil = strictly ? snapshot.expiresAt : snapshot.expiresAt - minimum
        usableUntilNanoseconds = ContinuousTime.nanoseconds(usableUntil)
    }

    /// `snapshot.isUsable(at: now, minValid: Limits.Proxy.minimumTokenValidity)` in one
    /// comparison: `expiresAt - now >= minimum > 0` is `now <= expiresAt - minimum`.
    @inline(__always)
    package func isUsable(at now: ContinuousClock.Instant) -> Bool {
        strictly ? now < usableUntil : !(usableUntil < now)
    }

    /// ``isUsable(at:)`` at `now` nanoseconds of `ContinuousTime` (the same clock, as an
    /// integer): the proxy engine passes the time it read when the request's head arrived, so
    /// no second clock read (`ContinuousClock.now`, ~100 instructions) is made per request.
    @inline(__always)
    package func isUsable(atNanoseconds now: UInt64) -> Bool {
        strictly ? now < usableUntilNanoseconds : now <= usableUntilNanoseconds
    }
}
