import TokenProxyCore
import TokenProxyNet

/// What the token API remembers about one connection between its requests: the server's
/// `connectionState` (`HTTPServerHandler.respondNow`). Used only on the connection's loop
/// thread, inside `respondNow`; dropped when the connection closes.
///
/// What is kept, and why it stays true:
/// - access decisions that `SO_PEERCRED` alone made (uid, primary gid; root and the daemon's
///   own uid; a credential without `allow`): the kernel took those ids at `connect`, so they
///   cannot change while the connection lives. A decision that needed `/proc/PID`
///   (supplementary groups, the systemd unit of an `allow` rule, `api.allowed_gids` through
///   supplementary groups) is made again on every request: the process may `exec`, drop
///   groups or move to another cgroup while it stays connected. Refusals are not kept either
///   (they are rare, and each one is counted);
/// - per credential, the snapshot read last with its slot's generation (``SnapshotSlot``): one
///   atomic load says whether it is still the published one;
/// - per credential, the JSON answer of the current second and the instants it is right
///   between, so `expires_in` is not worked out again until the second changes;
/// - per credential, the audit ``TokenAudit/Tally`` of this peer's process, while the audit's
///   ``TokenAudit/epoch`` has not moved.
final class TokenAPIConnection {
    /// A credential's access decision for this peer.
    enum Decision {
        case unknown
        /// Allowed by the kernel's ids alone: valid for the connection's life.
        case allowed
        /// Depends on `/proc/PID` (or was refused): checked on every request.
        case perRequest
    }

    /// What the connection remembers about one credential (by position in the store's
    /// names). A class, so the fast path reaches its fields in place (a struct in the array
    /// was copied out whole on every read: ~500 instructions a request).
    final class Credential {
        // Not checked for exclusivity at run time, for the reason `credentials` is not.
        @exclusivity(unchecked) var decision = Decision.unknown
        /// The slot's generation `snapshot` was read at (`.max`: nothing read yet).
        @exclusivity(unchecked) var generation = UInt64.max
        @exclusivity(unchecked) var snapshot: TokenStore.Snapshot?
        /// The last instant at which `snapshot` may be handed out
        /// (``TokenAPI/minimumUsefulValidity`` before its expiry).
        @exclusivity(unchecked) var usableUntil: ContinuousClock.Instant
        /// The JSON answer for every `now` with `jsonAfter < now <= jsonUntil` (one
        /// `expires_in` value); nil when none was built for `snapshot`.
        @exclusivity(unchecked) var json: HTTPServerResponse?
        @exclusivity(unchecked) var jsonAfter: ContinuousClock.Instant
        @exclusivity(unchecked) var jsonUntil: ContinuousClock.Instant
        /// The audit epoch `tally` was taken at (`.max`: none taken).
        @exclusivity(unchecked) var auditEpoch = UInt64.max
        @exclusivity(unchecked) var tally: TokenAudit.Tally?

        init(_ now: ContinuousClock.Instant) {
            usableUntil = now
            jsonAfter = now
            jsonUntil = now
        }
    }

    /// The API this memory belongs to; a reload swaps the API and the next request starts over.
    let api: TokenAPI
    /// `SwappableHandler`'s swap count when this was made.
    let handlerGeneration: UInt64
    /// The socket-wide check (`AccessPolicy`) passed on the kernel's ids alone.
    var socketAllowed = false
    /// Per credential, by position in the store's names; made on the credential's first
    /// request on this connection (a connection asks for one credential, usually once: it
    /// should not pay for every configured one). Not checked for exclusivity at run time, nor
    /// are the fields of its elements: only the loop's thread touches them, each request in
    /// accesses that end before the next begins.
    @exclusivity(unchecked) private(set) var credentials: [Credential?]

    init(api: TokenAPI, handlerGeneration: UInt64 = 0) {
        self.api = api
        self.handlerGeneration = handlerGeneration
        credentials = Array(repeating: nil, count: api.store.names.count)
    }

    /// What this connection remembers about the credential at `position`.
    func credential(at position: Int, now: ContinuousClock.Instant) -> Credential {
        if let known = credentials[position] { return known }
        let made = Credential(now)
        credentials[position] = made
        return made
    }

    /// The connection state the server keeps, if it is a `TokenAPIConnection` (checked by type,
    /// not by a dynamic cast: every request asks).
    static func of(_ state: AnyObject?) -> TokenAPIConnection? {
        guard let state, ObjectIdentifier(type(of: state)) == ObjectIdentifier(Self.self) else {
            return nil
        }
        return unsafeDowncast(state, to: TokenAPIConnection.self)
    }

    /// The published snapshot of `credential` if the token API may hand it out at `now`
    /// (valid for at least ``TokenAPI/minimumUsefulValidity`` more), reading `slot` under its
    /// lock only when its generation moved since the last read.
    func usableSnapshot(
        _ credential: Credential, slot: SnapshotSlot, now: ContinuousClock.Instant
    ) -> TokenStore.Snapshot? {
        let generation = slot.generation
        if credential.generation != generation {
            credential.generation = generation
            credential.snapshot = slot.read()
            if let snapshot = credential.snapshot {
                credential.usableUntil = snapshot.expiresAt - TokenAPI.minimumUsefulValidity
            }
            credential.json = nil
        }
        // `<` rather than `<=`: Instant implements `<` itself; `<=` is Comparable's generic one.
        guard let snapshot = credential.snapshot, !(credential.usableUntil < now) else {
            return nil
        }
        return snapshot
    }

    /// The JSON answer for `snapshot` (the one ``usableSnapshot(_:slot:now:)`` returned) at
    /// `now`: `expires_in` is whole seconds left, so the answer holds for a second.
    func jsonResponse(
        _ credential: Credential, _ snapshot: TokenStore.Snapshot, now: ContinuousClock.Instant
    ) -> HTTPServerResponse {
        if let json = credential.json, credential.jsonAfter < now, !(credential.jsonUntil < now) {
            return json
        }
        let seconds = max(0, (snapshot.expiresAt - now).components.seconds)
        let response = snapshot.value.jsonResponse(
            expiresIn: seconds, expiresAt: snapshot.expiresAtUnix)
        // seconds <= expiresAt - now < seconds + 1
        credential.jsonUntil = snapshot.expiresAt - .seconds(seconds)
        credential.jsonAfter = credential.jsonUntil - .seconds(1)
        credential.json = response
        return response
    }
}
