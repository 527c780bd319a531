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
    /// The token with the monotonic instants that govern serving it.
    package let held: HeldToken<Token>
    /// The expiry on the wall clock (Unix seconds), fixed when the token is published so that
    /// every answer for the same token states the same `expires_at`.
    package let expiresAtUnix: Int64

    package init(held: HeldToken<Token>, expiresAtUnix: Int64) {
        self.held = held
        self.expiresAtUnix = expiresAtUnix
    }

    /// The token payload.
    package var value: Token { held.value }
    /// When the fetch that produced the token started.
    package var receivedAt: ContinuousClock.Instant { held.receivedAt }
    /// The token must not be served at or after this instant.
    package var expiresAt: ContinuousClock.Instant { held.expiresAt }
    /// The whole lifetime the token was accepted with (from its fetch to its expiry).
    package var lifetime: Duration { held.expiresAt - held.receivedAt }

    /// Whether the token may be served at `now` to a caller that needs it for `minValid` more.
    package func isUsable(at now: ContinuousClock.Instant, minValid: Duration? = nil) -> Bool {
        held.isUsable(at: now, minValid: minValid)
    }
}

/// The one token cache: per credential, the snapshot of the token the lifecycle currently
/// holds. ``TokenService`` writes it (on its actor, after every lifecycle event); any thread
/// reads it synchronously, so a request on an event-loop thread is answered without hopping
/// onto the actor.
///
/// The set of credentials is fixed at creation, so the name → slot dictionary is immutable and
/// is read without a lock; each slot's lock guards only a single reference. A reader holds it
/// for one pointer copy (a retain), so readers on different threads rarely meet, and readers
/// of different credentials never do.
package final class TokenSnapshotTable<Token: Sendable>: Sendable {
    private final class Slot: Sendable {
        let current = Mutex<TokenSnapshot<Token>?>(nil)
    }

    private let slots: [String: Slot]

    /// An empty table for the credentials called `names`.
    package init(names: some Sequence<String>) {
        slots = Dictionary(names.map { ($0, Slot()) }, uniquingKeysWith: { first, _ in first })
    }

    /// The published snapshot of `name`; `nil` when none is held or the name is unknown.
    package func current(_ name: String) -> TokenSnapshot<Token>? {
        slots[name]?.current.withLock { $0 }
    }

    /// Replaces the snapshot of `name` (`nil` clears it). Only the service publishes.
    func publish(_ snapshot: TokenSnapshot<Token>?, for name: String) {
        slots[name]?.current.withLock { $0 = snapshot }
    }
}
