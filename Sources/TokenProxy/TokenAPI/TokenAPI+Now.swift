import TokenProxyCore
import TokenProxyNet

/// The synchronous answer to the common request — `GET /v1/tokens/NAME` for a configured name,
/// without a query, with a usable token published — without a closure, a lock or a
/// clock read of its own (`HTTPServerHandler.respondNow`). Everything else returns nil before it has any
/// effect, and `handle(_:respond:)` answers it the general way, in the same order of checks.
extension TokenAPI {
    package func respondNow(
        to request: HTTPServerRequest, connectionState: inout AnyObject?
    ) -> HTTPServerResponse? {
        let connection: TokenAPIConnection
        if let kept = TokenAPIConnection.of(connectionState), kept.api === self {
            connection = kept
        } else {
            connection = TokenAPIConnection(api: self)
            connectionState = connection
        }
        return respondNow(to: request, on: connection)
    }

    /// The fast path on `connection`'s memory (which must be this API's).
    func respondNow(
        to request: HTTPServerRequest, on connection: TokenAPIConnection
    ) -> HTTPServerResponse? {
        // The head is read in place (no `let head = request.head`): a copy costs a retain and
        // a release, a tenth of what the rest of this function costs.
        guard let position = tokenPosition(inTarget: request.head.target) else { return nil }
        guard Self.isRead(request.head.method) else { return nil }
        // No clock read: the loop's time of the wake-up that read the request (the server's
        // `receivedAt`, on `ContinuousClock`), for usability and `expires_in` both.
        let now = request.receivedAt
        // Sound: the connection holds what it remembers while it lives (`credential(at:)`).
        return connection.credential(at: position)._withUnsafeGuaranteedRef { remembered in
            respondNow(to: request, on: connection, position: position, remembered, now: now)
        }
    }

    /// `respondNow(to:on:)` once the credential is known.
    private func respondNow(
        to request: HTTPServerRequest, on connection: TokenAPIConnection, position: Int,
        _ remembered: TokenAPIConnection.Credential, now: UInt64
    ) -> HTTPServerResponse? {
        guard connection.isUsable(remembered, now: now) else { return nil }

        // From here on every outcome is an answer: the checks count what they refuse.
        if !connection.socketAllowed {
            if let refusal = refusal(for: request) {
                metrics.recordRequest(status: refusal.status)
                return refusal
            }
            if case .unix(_, let uid, let gid) = request.peer, access.allows(uid: uid, gid: gid) {
                connection.socketAllowed = true
            }
        }
        // The name is read only where it is used (a String copy is a retain and a release).
        var details: ProcessDetails?
        if remembered.decision != .allowed {
            let (refusal, read) = credentialCheck(store.names[position], peer: request.peer)
            if let refusal {
                remembered.decision = .perRequest
                metrics.recordRequest(status: refusal.status)
                return refusal
            }
            details = read
            // Allowed without `/proc`: the kernel's ids decided, and they cannot change.
            remembered.decision = read == nil ? .allowed : .perRequest
        }
        // `audit` read in place, not bound: binding retained and released it per request.
        if audit != nil, case .unix(let pid, let uid, let gid) = request.peer {
            let epoch = audit.unsafelyUnwrapped.epoch
            if remembered.auditEpoch == epoch, let tally = remembered.tallyReference {
                tally._withUnsafeGuaranteedRef { $0.count() }
            } else {
                remembered.tally = audit.unsafelyUnwrapped.record(
                    credential: store.names[position], pid: pid, uid: uid, gid: gid,
                    details: details)
                remembered.auditEpoch = epoch
            }
        }
        let response =
            Self.prefersText(request.head.fields)
            ? remembered.snapshot.unsafelyUnwrapped.value.textResponse.value
            : connection.jsonResponse(remembered, now: now)
        metrics.recordRequest(status: 200)
        return response
    }

    /// `GET` or `HEAD`, told apart by length first (a string comparison is a call each).
    @inline(__always)
    static func isRead(_ method: String) -> Bool {
        switch method.utf8.count {
        case 3: method == "GET"
        case 4: method == "HEAD"
        default: false
        }
    }
}
