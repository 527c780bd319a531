import FoundationEssentials
import Synchronization
import TokenProxy
import TokenProxyCore
import TokenProxyNet

/// A small OAuth authorization server for `tokenproxy dev` and tests: it issues opaque access
/// tokens for RFC 7523 assertions signed by registered clients, with either grant, and answers
/// discovery, JWKS, introspection (RFC 7662) and userinfo like a real IdP would.
///
/// It is meant for trying tokenproxy without an IdP, never for production, yet it validates
/// assertions as strictly as a real server (signature, `alg` against the key, `kid`, `aud`,
/// `exp`/`iat`/`nbf` with 30 s leeway, lifetime ≤ 1 h, single-use `jti`) so that what works
/// against it also works against ZITADEL. Every refusal says exactly why.
///
/// The server binds first and learns its port afterwards, so the issuer URL may be given at
/// construction or once later with `setIssuer(_:)`; until then every request gets 503.
package final class DevIssuer: HTTPServerHandler, Sendable {
    /// Registered clients by id.
    package let clients: [String: Client]
    /// Lifetime of issued access tokens.
    package let tokenLifetime: Duration
    let now: @Sendable () -> Date
    let state: Mutex<DevIssuerState>

    /// Clock skew tolerated on `exp`, `iat` and `nbf`.
    package static let leeway: Int64 = 30
    /// Longest assertion lifetime (`exp` − `iat`) accepted, as ZITADEL does.
    package static let maximumAssertionLifetime: Int64 = 3600

    static let discoveryPath = "/.well-known/openid-configuration"
    static let tokenPath = "/oauth/v2/token"
    static let introspectionPath = "/oauth/v2/introspect"
    static let userinfoPath = "/oidc/v1/userinfo"
    static let keysPath = "/oauth/v2/keys"

    package init(
        issuer: URL? = nil, clients: [Client], tokenLifetime: Duration = .seconds(300),
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(DevIssuerError) {
        var byID: [String: Client] = [:]
        for client in clients {
            guard byID.updateValue(client, forKey: client.clientID) == nil else {
                throw .duplicateClient(client.clientID)
            }
        }
        let lifetime = tokenLifetime.components.seconds
        guard (1...86_400).contains(lifetime) else {
            throw .invalidTokenLifetime(seconds: lifetime)
        }
        let normalized = try issuer.map { (url) throws(DevIssuerError) in
            try DevIssuerError.normalizedIssuer(url)
        }
        self.clients = byID
        self.tokenLifetime = tokenLifetime
        self.now = now
        self.state = Mutex(
            DevIssuerState(
                issuer: normalized, maximumJTIs: Limits.DevIssuer.maxRememberedJTIs,
                maximumTokens: Limits.DevIssuer.maxRememberedTokens))
    }

    /// The issuer URL (no trailing slash), once known.
    package var issuer: String? { state.withLock { $0.issuer } }

    /// Sets the issuer URL after the server has bound its port. Only once.
    package func setIssuer(_ url: URL) throws(DevIssuerError) {
        let normalized = try DevIssuerError.normalizedIssuer(url)
        let current: String? = state.withLock { state in
            if let current = state.issuer { return current }
            state.issuer = normalized
            return nil
        }
        if let current { throw .issuerAlreadySet(current: current) }
    }

    /// A snapshot of the request counts.
    package var stats: DevIssuerStats { state.withLock { $0.stats } }

    package func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        respond(response(to: request))
    }

    /// Routes one request; everything here is quick, so it answers synchronously.
    func response(to request: HTTPServerRequest) -> HTTPServerResponse {
        let issuer: String? = state.withLock { state in
            state.stats.requests += 1
            return state.issuer
        }
        guard let issuer else {
            return Self.error(
                status: 503, code: "temporarily_unavailable", "the dev issuer is starting")
        }
        let target = request.head.target
        let path = String(target.prefix { $0 != "?" })
        let method = request.head.method
        switch path {
        case Self.discoveryPath, Self.keysPath:
            state.withLock { $0.stats.metadataRequests += 1 }
            guard method == "GET" else { return Self.methodNotAllowed(allow: "GET") }
            return path == Self.keysPath ? keysResponse() : discoveryResponse(issuer: issuer)
        case Self.tokenPath:
            guard method == "POST" else { return Self.methodNotAllowed(allow: "POST") }
            return tokenResponse(request, issuer: issuer)
        case Self.introspectionPath:
            state.withLock { $0.stats.introspectionRequests += 1 }
            guard method == "POST" else { return Self.methodNotAllowed(allow: "POST") }
            return introspectionResponse(request, issuer: issuer)
        case Self.userinfoPath:
            state.withLock { $0.stats.userinfoRequests += 1 }
            guard method == "GET" || method == "POST" else {
                return Self.methodNotAllowed(allow: "GET, POST")
            }
            return userinfoResponse(request)
        default:
            return Self.error(
                status: 404, code: "not_found",
                "no endpoint at \(DevIssuerForm.printable(path)); see \(Self.discoveryPath)")
        }
    }

    /// Whole seconds since the epoch by the injected clock.
    var nowSeconds: Int64 { Int64(now().timeIntervalSince1970.rounded(.down)) }

    // MARK: - Responses

    /// A JSON response with `Cache-Control: no-store` (RFC 6749 §5.1: token responses and
    /// errors must not be cached; nothing here is worth caching).
    static func json(
        _ object: [String: Any], status: Int = 200, headers extra: [(String, String)] = []
    ) -> HTTPServerResponse {
        let body = Array(JSONText.sortedKeys(jsonValue(object)).utf8)
        var headers: HTTPFields = [
            "Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache",
        ]
        for (name, value) in extra { headers.append(name, value) }
        return HTTPServerResponse(status: status, headers: headers, body: Array(body))
    }

    /// An RFC 6749 §5.2 error body.
    static func error(status: Int, code: String, _ detail: String) -> HTTPServerResponse {
        json(["error": code, "error_description": detail], status: status)
    }

    static func error(_ rejection: DevIssuerRejection) -> HTTPServerResponse {
        error(status: rejection.status, code: rejection.code, rejection.detail)
    }

    static func methodNotAllowed(allow: String) -> HTTPServerResponse {
        json(
            ["error": "invalid_request", "error_description": "method not allowed; use \(allow)"],
            status: 405, headers: [("Allow", allow)])
    }
}
