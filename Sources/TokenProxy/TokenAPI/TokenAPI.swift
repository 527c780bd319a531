import FoundationEssentials
import TokenProxyCore
import TokenProxyNet

/// The token API served on the Unix socket (and optionally loopback TCP):
/// `GET /v1/tokens/{name}`, `POST /v1/tokens/{name}/refresh`, `GET /v1/tokens`,
/// `POST /v1/introspect/{name}` (TokenAPI+Introspection.swift), `/healthz`, `/readyz`, `/metrics`. The common case — a valid token in the cache — is answered
/// synchronously; everything that must wait for the IdP continues in a task.
package final class TokenAPI: HTTPServerHandler {
    /// Who may ask for tokens on the Unix socket.
    package struct AccessPolicy: Sendable {
        /// Anyone who can open the socket (its file mode and group are the control).
        package var allowsAnyPeer: Bool
        package var allowedUIDs: Set<UInt32>
        package var allowedGIDs: Set<UInt32>
        /// The daemon's own uid and root are always allowed: they can read the keys anyway.
        package var ownUID: UInt32

        package init(
            allowsAnyPeer: Bool, allowedUIDs: Set<UInt32>, allowedGIDs: Set<UInt32>, ownUID: UInt32
        ) {
            self.allowsAnyPeer = allowsAnyPeer
            self.allowedUIDs = allowedUIDs
            self.allowedGIDs = allowedGIDs
            self.ownUID = ownUID
        }

        func allows(uid: UInt32, gid: UInt32) -> Bool {
            allowsAnyPeer || uid == 0 || uid == ownUID || allowedUIDs.contains(uid)
                || allowedGIDs.contains(gid)
        }

        /// Whether one of the caller's supplementary groups (`/proc/PID/status`, behind the
        /// PID-reuse guard of ``CallerInspector``) is allowed; read only when the uid and the
        /// primary gid did not decide.
        func allowsThroughGroups(pid: Int32, uid: UInt32) -> Bool {
            guard !allowedGIDs.isEmpty, let details = CallerInspector.details(pid: pid, uid: uid)
            else { return false }
            return !allowedGIDs.isDisjoint(with: details.supplementaryGroups)
        }
    }

    /// The header TCP callers must send, as cloud metadata servers require `Metadata-Flavor`.
    package struct TCPRequirement: Sendable {
        package var header: String
        package var value: String

        package init(header: String, value: String) {
            self.header = header
            self.value = value
        }
    }

    /// See ``Limits/TokenAPI/minimumUsefulValidity``.
    static let minimumUsefulValidity = Limits.TokenAPI.minimumUsefulValidity

    let store: TokenStore
    let metrics: Metrics
    let access: AccessPolicy
    let tcpRequirement: TCPRequirement?
    /// Per-credential `allow` rules; a credential without one is open to every caller the
    /// socket and the global policy admit.
    let rules: [String: AccessRule]
    /// Records who got which token (nil in tests that do not look).
    let audit: TokenAudit?
    /// `/v1/tokens/{name}` per configured name, as bytes (``tokenPosition(inTarget:)``).
    let tokenTargets: [[UInt8]]
    /// Answers `/v1/introspect/{name}`: the store's, made with the same credentials.
    var introspector: Introspector { store.introspector }

    package init(
        store: TokenStore, metrics: Metrics, access: AccessPolicy, tcpRequirement: TCPRequirement?,
        rules: [String: AccessRule] = [:], audit: TokenAudit? = nil
    ) {
        self.store = store
        self.metrics = metrics
        self.access = access
        self.tcpRequirement = tcpRequirement
        self.rules = rules
        self.audit = audit
        tokenTargets = Self.tokenTargets(store.names)
    }

    package func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        // The common request, `/v1/tokens/NAME` for a configured name without a query, is
        // recognized on the target's bytes: no path or name strings are built for it, and no
        // closure is allocated unless the answer has to wait.
        if let position = tokenPosition(inTarget: request.head.target) {
            let name = store.names[position]
            if let refusal = refusal(for: request) {
                metrics.recordRequest(status: refusal.status)
                return respond(refusal)
            }
            return token(name, query: "", request, respond)
        }
        let reply = Self.counting(metrics, respond)
        let (path, query) = Self.split(request.head.target)
        let method = request.head.method
        let isRead = method == "GET" || method == "HEAD"

        switch path {
        case "/healthz":
            guard isRead else { return reply(Self.methodNotAllowed("GET, HEAD")) }
            return reply(Self.text(200, "ok\n"))
        case "/readyz":
            guard isRead else { return reply(Self.methodNotAllowed("GET, HEAD")) }
            return later(reply) { api in await api.readiness() }
        case "/metrics":
            guard isRead else { return reply(Self.methodNotAllowed("GET, HEAD")) }
            return later(reply) { api in
                let store = api.store
                let text =
                    api.metrics.render(
                        statuses: await store.statuses(),
                        introspectionEntries: api.introspector.cachedEntries,
                        served: api.audit?.served() ?? [])
                    + Metrics.keyRejections(names: store.names) { store.keyRejection($0) != nil }
                return HTTPServerResponse(
                    status: 200,
                    headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                    body: Array(text.utf8))
            }
        default:
            break
        }

        if path.hasPrefix(Self.introspectPrefix) { return introspect(path, request, reply) }
        guard path == "/v1/tokens" || path.hasPrefix("/v1/tokens/") else {
            return reply(Self.error(404, "not_found", "no such endpoint; see /v1/tokens"))
        }
        if let refusal = refusal(for: request) { return reply(refusal) }

        if path == "/v1/tokens" {
            guard isRead else { return reply(Self.methodNotAllowed("GET, HEAD")) }
            return later(reply) { api in await api.list() }
        }
        let rest = String(path.dropFirst("/v1/tokens/".count))
        let isRefresh = rest.hasSuffix("/refresh")
        let name = isRefresh ? String(rest.dropLast("/refresh".count)) : rest
        guard store.contains(name) else {
            return reply(
                Self.error(
                    404, "unknown_credential",
                    "no credential named '\(Self.printable(name))'; configured: \(store.names.joined(separator: ", "))"
                ))
        }
        if isRefresh {
            guard method == "POST" else { return reply(Self.methodNotAllowed("POST")) }
            let (refusal, details) = credentialCheck(name, peer: request.peer)
            if let refusal { return reply(refusal) }
            let audited = auditing(name, peer: request.peer, details: details, reply)
            let wantsText = Self.prefersText(request.head.fields)
            return laterBounded(audited) { api in
                do {
                    return api.tokenResponse(try await api.store.refresh(name), text: wantsText)
                } catch {
                    return Self.unavailable(error)
                }
            }
        }
        token(name, query: query, request, respond)
    }

    /// `respond`, counting each answer's status in the metrics.
    private static func counting(
        _ metrics: Metrics, _ respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) -> @Sendable (HTTPServerResponse) -> Void {
        { response in
            metrics.recordRequest(status: response.status)
            respond(response)
        }
    }

    /// `GET`/`HEAD /v1/tokens/{name}` for a configured `name`, after the access check.
    /// `respond` is the server's: every answer is counted here (`reply`), and only an answer
    /// that has to wait for the token service wraps it in a closure.
    private func token(
        _ name: String, query: Substring, _ request: HTTPServerRequest,
        _ respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        let metrics = self.metrics
        func reply(_ response: HTTPServerResponse) {
            metrics.recordRequest(status: response.status)
            respond(response)
        }
        let method = request.head.method
        guard method == "GET" || method == "HEAD" else {
            return reply(Self.methodNotAllowed("GET, HEAD"))
        }
        let (refusal, details) = credentialCheck(name, peer: request.peer)
        if let refusal { return reply(refusal) }
        let wantsText = Self.prefersText(request.head.fields)
        let minValidText = Self.queryValue(query, "min_valid")
        let minSeconds = minValidText.flatMap { Int($0) }
        if minValidText != nil {
            let maximum = Limits.TokenAPI.maxMinValidSeconds
            guard let minSeconds, minSeconds >= 0, minSeconds <= maximum else {
                return reply(
                    Self.error(
                        400, "invalid_request",
                        "min_valid must be a whole number of seconds (0…\(maximum))"))
            }
        }
        // A token with less than a second left is useless to a caller: never hand one out
        // (during an outage the caller gets 503 instead, with Retry-After).
        // A `min_valid` the IdP's tokens cannot meet (as long as their whole lifetime) would
        // make every request fetch a new one: such a request gets half the lifetime instead.
        var requested: Duration = minSeconds.map { .seconds($0) } ?? .zero
        if minSeconds != nil, let lifetime = store.newestLifetime(name), requested >= lifetime {
            requested = lifetime / 2
        }
        let minValid = max(requested, Self.minimumUsefulValidity)
        if let held = store.cachedToken(name, minValid: minValid) {
            audited(name, peer: request.peer, details: details)
            return reply(tokenResponse(held, text: wantsText))
        }
        laterBounded(
            auditing(name, peer: request.peer, details: details, Self.counting(metrics, respond))
        ) { api in
            do {
                return api.tokenResponse(
                    try await api.store.token(name, minValid: minValid), text: wantsText)
            } catch {
                return Self.unavailable(error)
            }
        }
    }

    /// Continues in a task for answers that need an `await`.
    private func later(
        _ reply: @escaping @Sendable (HTTPServerResponse) -> Void,
        _ body: @escaping @Sendable (TokenAPI) async -> HTTPServerResponse
    ) {
        Task { reply(await body(self)) }
    }

    /// Access control: Unix peers by uid/gid; TCP callers must send the required header and
    /// must not look like a forwarded request (SSRF through a local web app).
    func refusal(for request: HTTPServerRequest) -> HTTPServerResponse? {
        switch request.peer {
        case .unix(let pid, let uid, let gid):
            guard
                access.allows(uid: uid, gid: gid) || access.allowsThroughGroups(pid: pid, uid: uid)
            else {
                return Self.error(
                    403, "access_denied",
                    "uid \(uid) (gid \(gid)) may not read tokens; add it to api.allowed_uids or api.allowed_gids"
                )
            }
        case .tcp:
            let fields = request.head.fields
            if fields.contains("X-Forwarded-For") || fields.contains("Forwarded") {
                return Self.error(
                    403, "access_denied",
                    "forwarded requests are refused (X-Forwarded-For / Forwarded present)")
            }
            if let requirement = tcpRequirement, fields[requirement.header] != requirement.value {
                return Self.error(
                    403, "access_denied",
                    "missing header '\(requirement.header): \(requirement.value)'")
            }
        }
        return nil
    }
}
