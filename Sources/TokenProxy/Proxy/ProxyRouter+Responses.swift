import TokenProxyCore
import TokenProxyNet

/// The answers the router gives itself. Bodies are plain text an operator can act on; they
/// name routes, hosts and credentials, never a token.
extension ProxyRouter {
    /// The methods a forwarded route answers, for `Allow` on a refused CONNECT (RFC 9110 §15.5.6).
    static let allowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

    static func text(_ status: Int, _ body: String, headers: HTTPFields = [:]) -> HTTPServerResponse
    {
        var fields = headers
        fields.append("Content-Type", "text/plain; charset=utf-8")
        fields.append("Cache-Control", "no-store")
        return HTTPServerResponse(status: status, headers: fields, body: Array(body.utf8))
    }

    /// 403: tokenproxy forwards only what a route names.
    static func noRoute(_ target: ProxyRequestTarget) -> HTTPServerResponse {
        let host = target.host.map { host in
            let name = host.contains(":") ? "[\(host)]" : host
            return "host '\(printable(target.port.map { "\(name):\($0)" } ?? name))'"
        }
        let subject = host ?? "a request without Host"
        return text(
            403,
            "tokenproxy: no route for \(subject) and path '\(printable(target.path))'; it forwards only "
                + "to upstreams configured in proxy.routes (it is not an open proxy)\n")
    }

    /// 405 for CONNECT to a destination that is not in `proxy.tunnels`.
    static func connectRefused(_ target: String) -> HTTPServerResponse {
        let destination = printable(target)
        let host = destination.split(separator: ":").first.map(String.init) ?? "api.example.com"
        let body = """
            tokenproxy: CONNECT \(destination) refused: a token cannot be injected into a TLS tunnel, \
            because the request inside is encrypted end to end.
            Send the request as plain http to the proxy instead (http://\(host)/…, or unset https_proxy \
            for this host) with a route like
              {"host": "\(host)", "upstream": "https://\(host)", "credential": "NAME"}
            and tokenproxy speaks TLS to the upstream itself.
            To pass this destination through untouched, without a token, add "\(destination)" to proxy.tunnels.

            """
        return text(405, body, headers: ["Allow": allowedMethods])
    }

    /// 503 when the route's credential has no token; `Retry-After` from the token service's
    /// backoff when it knows it.
    static func tokenUnavailable(route: String, credential: String, _ error: any Error)
        -> HTTPServerResponse
    {
        var retryAfter = 1
        if case TokenServiceError.unavailable(_, _, _, let delay) = error {
            retryAfter = max(
                1, Int(delay.components.seconds) + (delay.components.attoseconds > 0 ? 1 : 0))
        } else if error is ProxyTokenWaitError {
            retryAfter = 5
        }
        return text(
            503,
            "tokenproxy: no token for route '\(route)' (credential '\(credential)'): \(error)\n",
            headers: ["Retry-After": String(retryAfter)])
    }

    /// 400 for a target the router cannot route.
    static func badTarget(_ problem: ProxyRequestTarget.Problem) -> HTTPServerResponse {
        let reason: String
        switch problem {
        case .unsupportedForm:
            reason =
                "the request target must be a path (/x) or an absolute http URL (http://host/x)"
        case .unsupportedScheme:
            reason = "only http:// and https:// targets can be forwarded"
        case .malformedAuthority:
            reason = "the host (in the target or the Host header) is malformed"
        case .dotSegments:
            reason = "the path contains '.' or '..' segments; send the resolved path"
        }
        return text(400, "tokenproxy: \(reason)\n")
    }

    /// 403 for a Unix-socket caller the token API would refuse too.
    static func forbiddenPeer(uid: UInt32, gid: UInt32) -> HTTPServerResponse {
        text(
            403,
            "tokenproxy: uid \(uid) (gid \(gid)) may not use the proxy; add it to api.allowed_uids or "
                + "api.allowed_gids\n")
    }

    /// A route whose credential has an `allow` list the caller does not match (a TCP caller
    /// carries no identity, so it never matches). Names the credential and nothing else.
    static func credentialRefused(_ credential: String) -> HTTPServerResponse {
        text(403, "tokenproxy: this caller may not use credential '\(credential)'\n")
    }

    /// Client input made safe to echo: visible ASCII only, cut at `Limits.Proxy.maxEchoedCharacters`.
    static func printable(_ text: String) -> String {
        let cleaned = String(
            String.UnicodeScalarView(
                text.unicodeScalars.prefix(Limits.Proxy.maxEchoedCharacters).map {
                    (0x20...0x7E).contains($0.value) ? $0 : "?"
                }))
        return text.unicodeScalars.count > Limits.Proxy.maxEchoedCharacters
            ? cleaned + "…" : cleaned
    }
}
