import TokenProxyCore
import TokenProxyNet

/// The guard's answers (RFC 6750 §3): a `WWW-Authenticate: Bearer` challenge with the error
/// code, and a JSON body with the same code and a description. Nothing quotes the token.
extension ProxyRouter {
    static let guardRealm = "tokenproxy"

    /// 401/403/400 with `WWW-Authenticate: Bearer realm="tokenproxy"[, error="…"][, scope="…"]`.
    /// Without an error code for a request that carried no credentials (§3.1).
    static func bearerChallenge(
        _ status: Int, error: String?, _ description: String, scope: String? = nil
    ) -> HTTPServerResponse {
        var challenge = "Bearer realm=\"\(guardRealm)\""
        if let error {
            challenge += ", error=\"\(error)\", error_description=\"\(quotable(description))\""
        }
        if let scope { challenge += ", scope=\"\(quotable(scope))\"" }
        let body = JSONText.object([
            ("error", JSONText.string(error ?? "invalid_request")),
            ("error_description", JSONText.string(description)),
        ])
        return HTTPServerResponse(
            status: status,
            headers: [
                "WWW-Authenticate": challenge, "Content-Type": "application/json",
                "Cache-Control": "no-store",
            ],
            body: Array(body.utf8))
    }

    /// 503 (with `Retry-After`) when the IdP cannot be asked, 502 when it refuses our client.
    static func introspectionFailed(_ error: IntrospectionError) -> HTTPServerResponse {
        error.isTemporary
            ? guardFailure(503, "\(error)", retry: Limits.Introspection.retryAfterSeconds)
            : guardFailure(502, "\(error)", retry: nil)
    }

    static func guardFailure(_ status: Int, _ description: String, retry: Int?)
        -> HTTPServerResponse
    {
        let body = JSONText.object([
            ("error", JSONText.string("introspection_unavailable")),
            ("error_description", JSONText.string("tokenproxy: \(description)")),
        ])
        var headers: HTTPFields = ["Content-Type": "application/json", "Cache-Control": "no-store"]
        if let retry { headers.append("Retry-After", String(retry)) }
        return HTTPServerResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    /// A quoted-string's content (RFC 9110 §5.6.4) limited to what RFC 6750 §3 allows in
    /// `error_description` and `scope`: printable ASCII without `"` and `\`.
    private static func quotable(_ text: String) -> String {
        String(
            text.unicodeScalars.filter {
                $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\"
            }.map(Character.init))
    }
}
