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

    /// A snapshot with the last instant at which the token API may hand it out
    /// (``TokenAPI/minimumUsefulValidity`` before its expiry).
    struct Held {
        var snapshot: TokenStore.Snapshot
        var usableUntil: ContinuousClock.Instant
    }

    /// The JSON answer for every `now` with `after < now <= until` (one `expires_in` value).
    struct JSONAnswer {
        var response: HTTPServerResponse
        var after: ContinuousClock.Instant
        var until: ContinuousClock.Instant
    }

    /// What the connection remembers about one credential (by position in the store's names).
    struct Credential {
        var decision = Decision.unknown
        /// The slot's generation `held` was read at (`.max`: nothing read yet).
        var generation = UInt64.max
        var held: Held?
        var json: JSONAnswer?
        /// The audit epoch `tally` was taken at (`.max`: none taken).
        var auditEpoch = UInt64.max
        var tally: TokenAudit.Tally?
    }

    /// The API this memory belongs to; a reload swaps the API and the next request starts over.
    let api: TokenAPI
    /// `SwappableHandler`'s swap count when this was made.
    let handlerGeneration: UInt64
    /// The socket-wide check (`AccessPolicy`) passed on the kernel's ids alone.
    var socketAllowed = false
    /// Not checked for exclusivity at run time: only the loop's thread touches it, each
    /// request in accesses that end before the next begins.
    @exclusivity(unchecked) var credentials: [Credential]

    init(api: TokenAPI, handlerGeneration: UInt64 = 0) {
        self.api = api
        self.handlerGeneration = handlerGeneration
        credentials = Array(repeating: Credential(), count: api.store.names.count)
    }

    /// The connection state the server keeps, if it is a `TokenAPIConnection` (checked by type,
    /// not by a dynamic cast: every request asks).
    static func of(_ state: AnyObject?) -> TokenAPIConnection? {
        guard let state, ObjectIdentifier(type(of: state)) == ObjectIdentifier(Self.self) else {
            return nil
        }
        return unsafeDowncast(state, to: TokenAPIConnection.self)
    }

    /// The published snapshot of the credential at `position` if the token API may hand it out
    /// at `now` (valid for at least ``TokenAPI/minimumUsefulValidity`` more), reading the slot
    /// under its lock only when its generation moved since the last read.
    func usableSnapshot(
        at position: Int, slot: SnapshotSlot, now: ContinuousClock.Instant
    ) -> TokenStore.Snapshot? {
        let generation = slot.generation
        if credentials[position].generation != generation {
            credentials[position].generation = generation
            credentials[position].held = slot.read().map {
                Held(snapshot: $0, usableUntil: $0.expiresAt - TokenAPI.minimumUsefulValidity)
            }
            credentials[position].json = nil
        }
        guard let held = credentials[position].held, now <= held.usableUntil else { return nil }
        return held.snapshot
    }

    /// The JSON answer for `snapshot` (the one ``usableSnapshot(at:slot:now:)`` returned) at
    /// `now`: `expires_in` is whole seconds left, so the answer holds for a second.
    func jsonResponse(
        at position: Int, _ snapshot: TokenStore.Snapshot, now: ContinuousClock.Instant
    ) -> HTTPServerResponse {
        if let answer = credentials[position].json, answer.after < now, now <= answer.until {
            return answer.response
        }
        let seconds = max(0, (snapshot.expiresAt - now).components.seconds)
        let response = snapshot.value.jsonResponse(
            expiresIn: seconds, expiresAt: snapshot.expiresAtUnix)
        // seconds <= expiresAt - now < seconds + 1
        let until = snapshot.expiresAt - .seconds(seconds)
        credentials[position].json = JSONAnswer(
            response: response, after: until - .seconds(1), until: until)
        return response
    }
}
