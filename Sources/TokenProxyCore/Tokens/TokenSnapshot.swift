import Synchronization

/// One credential's servable token as ``TokenService`` published it: immutable and shared by
/// reference, so a reader copies one pointer out of the table and everything else it needs
/// (the token, its monotonic expiry, its wall-clock expiry) comes with it.
///
/// A snapshot exists only for a token the ``TokenLifecycle`` accepted: a token that arrived
/// already expired is never published. Whether the token is still usable *now* is the
/// reader's question (``isUsable(at:minValid:)``): expiry is a matter of time, and the service
/// clears the entry only when its timer for that instant has fired.
package final class TokenSnapshot<Token: Sendable>: Sendable {
    /// When the fetch that produced the token started (a copy of `held.receivedAt`).
    ///
    /// The instants are stored here, ahead of `held`, rather than read through it: a reader in
    /// another module runs this class's unspecialized code, which would look up the generic
    /// metadata of `HeldToken<Token>` (a hash-table probe) on every request to reach them.
    package let receivedAt: ContinuousClock.Instant
    /// The token must not be served at or after this instant (a copy of `held.expiresAt`).
    package let expiresAt: ContinuousClock.Instant
    /// The token with the monotonic instants that govern serving it.
    package let held: HeldToken<Token>
    /// The expiry on the wall clock (Unix seconds), fixed when the token is published so that
    /// every answer for the same token states the same `expires_at`.
    package let expiresAtUnix: Int64

    package init(held: HeldToken<Token>, expiresAtUnix: Int64) {
        self.receivedAt = held.receivedAt
        self.expiresAt = held.expiresAt
        self.held = held
        self.expiresAtUnix = expiresAtUnix
    }

    /// The token payload.
    package var value: Token { held.value }
    /// The whole lifetime the token was accepted with (from its fetch to its expiry).
    package var lifetime: Duration { expiresAt - receivedAt }

    /// Whether the token may be served at `now` to a caller that needs it for `minValid` more.
    package func isUsable(at now: ContinuousClock.Instant, minValid: Duration? = nil) -> Bool {
        let remaining = expiresAt - now
        guard remaining > .zero else { return false }
        if let minValid { return remaining >= minValid }
        return true
    }
}

/// The one token cache: per credential, the snapshot of the token the lifecycle currently
/// holds. ``TokenService`` writes it (on its actor, after every lifecycle event); any thread
/// reads it synchronously, so a request on an event-loop thread is answered without hopping
/// onto the actor.
///
/// The set of credentials is fixed at creation, so the name → slot dictionary is immutable and
/// is read without a lock; each slot guards a single reference, and a reader holds it for one
/// pointer copy (a retain). What guards a slot is supplied by the owner (``ReadMostlyBox``):
/// readers must not wait for each other, which a `Mutex` makes them do — measured on Linux
/// with more reader threads than cores: ~5 µs per read behind one `Mutex`, ~1 µs behind a
/// reader-writer lock (see `ThreadLock` for the daemon-wide measurements).
package final class TokenSnapshotTable<Token: Sendable>: Sendable {
    /// What guards one credential's snapshot.
    package typealias Slot = any ReadMostlyBox<TokenSnapshot<Token>?>

    private let slots: [String: Slot]

    /// An empty table for the credentials called `names`, each slot made by `makeSlot` from
    /// the name and the initial value (by default a ``MutexBox``; the daemon passes its
    /// reader-writer lock and keeps its own array of them for the token API's hot path).
    /// `initial` holds snapshots handed over from a previous service (reload).
    package init(
        names: some Sequence<String>, initial: [String: TokenSnapshot<Token>] = [:],
        makeSlot: (String, TokenSnapshot<Token>?) -> Slot = { MutexBox($1) }
    ) {
        var slots: [String: Slot] = [:]
        for name in names where slots[name] == nil { slots[name] = makeSlot(name, initial[name]) }
        self.slots = slots
    }

    /// The published snapshot of `name`; `nil` when none is held or the name is unknown.
    package func current(_ name: String) -> TokenSnapshot<Token>? {
        // `read()`, not `withReadLock { $0 }`: a generic result would make this unspecialized
        // code build the metadata of `TokenSnapshot<Token>?` per call.
        slots[name]?.read()
    }

    /// Replaces the snapshot of `name` (`nil` clears it). Only the service publishes.
    func publish(_ snapshot: TokenSnapshot<Token>?, for name: String) {
        slots[name]?.withLock { $0 = snapshot }
    }
}

/// A value read on every request and replaced rarely, behind a lock chosen by the owner.
/// `TokenProxyCore` has no reader-writer lock of its own (that needs C), so the daemon injects
/// one (`ThreadLock`, over `pthread_rwlock_t`); ``MutexBox`` serves tests and defaults.
package protocol ReadMostlyBox<Value>: Sendable {
    associatedtype Value
    /// Runs `body` with shared access; readers may run concurrently.
    func withReadLock<Result>(_ body: (borrowing Value) throws -> Result) rethrows -> Result
    /// A copy of the value, taken with shared access.
    func read() -> Value
    /// Runs `body` with exclusive access.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result
}

/// A ``ReadMostlyBox`` over a `Mutex`: correct everywhere, but readers wait for each other.
package final class MutexBox<Value: Sendable>: ReadMostlyBox {
    private let value: Mutex<Value>

    package init(_ value: Value) { self.value = Mutex(value) }

    package func withReadLock<Result>(_ body: (borrowing Value) throws -> Result) rethrows
        -> Result
    {
        try value.withLock { try body($0) }
    }

    package func read() -> Value { value.withLock { $0 } }

    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try value.withLock { try body(&$0) }
    }
}
