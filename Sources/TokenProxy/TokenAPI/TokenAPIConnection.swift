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
///
/// Times are `ContinuousTime` nanoseconds (the continuous clock's, as plain integers): a
/// request's `receivedAt` is compared with the snapshot's expiry converted once, when the
/// snapshot is read, instead of a clock read and `ContinuousClock.Instant` arithmetic per request.
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
        /// The store's slot of this credential, kept so that a request reaches it without an
        /// array lookup and a retain (a `let` of an object the caller holds needs neither).
        let slot: SnapshotSlot
        // Not checked for exclusivity at run time, for the reason `credentials` is not.
        @exclusivity(unchecked) var decision = Decision.unknown
        /// The slot's generation `snapshot` was read at (`.max`: nothing read yet).
        @exclusivity(unchecked) var generation = UInt64.max
        @exclusivity(unchecked) var snapshot: TokenStore.Snapshot?
        /// `snapshot`'s expiry, in `ContinuousTime` nanoseconds (rounded down: compared with
        /// whole nanoseconds, the same answers as the exact instant).
        @exclusivity(unchecked) var expiresAt: UInt64 = 0
        /// The last nanosecond at which `snapshot` may be handed out
        /// (``TokenAPI/minimumUsefulValidity`` before its expiry).
        @exclusivity(unchecked) var usableUntil: UInt64 = 0
        /// The JSON answer for every `now` with `jsonAfter < now <= jsonUntil` (one
        /// `expires_in` value); nil when none was built for `snapshot`.
        @exclusivity(unchecked) var json: HTTPServerResponse?
        @exclusivity(unchecked) var jsonAfter: UInt64 = 0
        @exclusivity(unchecked) var jsonUntil: UInt64 = 0
        /// The audit epoch `tally` was taken at (`.max`: none taken).
        @exclusivity(unchecked) var auditEpoch = UInt64.max
        @exclusivity(unchecked) var tally: TokenAudit.Tally? {
            didSet { tallyReference = tally.map { Unmanaged.passUnretained($0) } }
        }
        /// `tally`, unretained, for counting a request: called through the optional, the
        /// tally was retained and released around its one atomic increment. Sound: `tally`
        /// holds it, and is only changed together with this.
        @exclusivity(unchecked) private(set) var tallyReference: Unmanaged<TokenAudit.Tally>?

        init(slot: SnapshotSlot) { self.slot = slot }
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
    /// `credentials`, unretained (see `credential(at:)`).
    @exclusivity(unchecked) private var credentialReferences: [Unmanaged<Credential>?]

    init(api: TokenAPI, handlerGeneration: UInt64 = 0) {
        self.api = api
        self.handlerGeneration = handlerGeneration
        credentials = Array(repeating: nil, count: api.store.names.count)
        credentialReferences = Array(repeating: nil, count: api.store.names.count)
    }

    /// What this connection remembers about the credential at `position`, unretained: a
    /// `Credential` returned from the array was retained and released per request. Sound:
    /// `credentials` holds every one it made for as long as the connection lives, and no entry
    /// is ever replaced.
    func credential(at position: Int) -> Unmanaged<Credential> {
        if let known = credentialReferences[position] { return known }
        let made = Credential(slot: api.store.slot(at: position))
        credentials[position] = made
        credentialReferences[position] = Unmanaged.passUnretained(made)
        return Unmanaged.passUnretained(made)
    }

    /// The connection state the server keeps, if it is a `TokenAPIConnection` (checked by type,
    /// not by a dynamic cast: every request asks).
    static func of(_ state: AnyObject?) -> TokenAPIConnection? {
        unretained(state)?.takeUnretainedValue()
    }

    /// `of(_:)` without a retain: the caller keeps `state` (the server's connection state)
    /// unchanged while it uses the result.
    static func unretained(_ state: borrowing AnyObject?) -> Unmanaged<TokenAPIConnection>? {
        switch state {
        case .some(let object)
        where ObjectIdentifier(type(of: object)) == ObjectIdentifier(Self.self):
            return Unmanaged.passUnretained(unsafeDowncast(object, to: TokenAPIConnection.self))
        default:
            return nil
        }
    }

    /// Whether the token API may hand out `credential`'s published snapshot at `now`
    /// (`ContinuousTime` nanoseconds; valid for at least ``TokenAPI/minimumUsefulValidity``
    /// more), reading its slot under the lock only when its generation moved since the last
    /// read; the snapshot is then `credential.snapshot`. A Bool, not the snapshot: returning it
    /// cost a retain and a release (atomic instructions) per request, and most requests need
    /// only `credential.json`.
    func isUsable(_ credential: Credential, now: UInt64) -> Bool {
        let generation = credential.slot.generation
        if credential.generation != generation {
            credential.generation = generation
            credential.snapshot = credential.slot.read()
            if let snapshot = credential.snapshot {
                credential.expiresAt = ContinuousTime.nanoseconds(snapshot.expiresAt)
                credential.usableUntil = ContinuousTime.nanoseconds(
                    snapshot.expiresAt - TokenAPI.minimumUsefulValidity)
            }
            credential.json = nil
        }
        return credential.snapshot != nil && now <= credential.usableUntil
    }

    /// The JSON answer for `credential`'s snapshot (one ``isUsable(_:now:)`` accepted) at
    /// `now` (`ContinuousTime` nanoseconds): `expires_in` is whole seconds left, so the answer
    /// holds for a second.
    func jsonResponse(_ credential: Credential, now: UInt64) -> HTTPServerResponse {
        if let json = credential.json, credential.jsonAfter < now, now <= credential.jsonUntil {
            return json
        }
        guard let snapshot = credential.snapshot else {
            preconditionFailure("jsonResponse without a usable snapshot")
        }
        let second: UInt64 = 1_000_000_000
        let left = credential.expiresAt > now ? credential.expiresAt - now : 0
        // Whole seconds, rounded down, as `Duration.components.seconds` counts them.
        let seconds = left / second
        let response = snapshot.value.jsonResponse(
            expiresIn: Int64(seconds), expiresAt: snapshot.expiresAtUnix)
        // seconds <= expiresAt - now < seconds + 1
        credential.jsonUntil = credential.expiresAt - seconds * second
        credential.jsonAfter = credential.jsonUntil >= second ? credential.jsonUntil - second : 0
        credential.json = response
        return response
    }
}
