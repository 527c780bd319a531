import Synchronization
import TokenProxyCore
import TokenProxyNet

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
package final class SnapshotSlot: ReadMostlyBox, Sendable {
    package typealias Value = TokenStore.Snapshot?

    private let lock: ThreadLock<Value>
    private let writes = Atomic<UInt64>(0)

    init(_ initial: Value) {
        lock = ThreadLock(initial)
    }

    /// How many times the value was written; a reader compares it with the one it read at.
    package var generation: UInt64 { writes.load(ordering: .acquiring) }

    package func withReadLock<Result>(_ body: (borrowing Value) throws -> Result) rethrows
        -> Result
    {
        try lock.withReadLock(body)
    }

    package func read() -> Value { lock.withReadLock { $0 } }

    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        defer { writes.add(1, ordering: .releasing) }
        return try lock.withLock(body)
    }
}
