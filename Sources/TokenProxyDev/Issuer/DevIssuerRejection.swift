/// Why the dev issuer refused a request: an RFC 6749 §5.2 error code, the HTTP status that
/// goes with it, and a description that says exactly what was wrong.
///
/// Descriptions name claims, client ids and URLs, never an assertion, signature or token: the
/// dev issuer's answers end up in terminals and logs.
package struct DevIssuerRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// The OAuth error code (`invalid_request`, `invalid_grant`, …).
    package var code: String
    /// 400 for most errors; 401 for failed client authentication (RFC 6749 §5.2).
    package var status: Int
    /// The `error_description`.
    package var detail: String
    /// The registered client the request came from, when that was established; used only for
    /// the request statistics.
    package var clientID: String?

    package init(code: String, status: Int = 400, detail: String, clientID: String? = nil) {
        self.code = code
        self.status = status
        self.detail = detail
        self.clientID = clientID
    }

    package var description: String { "\(code): \(detail)" }

    /// The request is malformed: missing or repeated parameter, bad form encoding.
    static func invalidRequest(_ detail: String) -> DevIssuerRejection {
        DevIssuerRejection(code: "invalid_request", detail: detail)
    }

    /// The JWT-bearer grant's assertion was not accepted (RFC 7523 §3.1).
    static func invalidGrant(_ detail: String, clientID: String? = nil) -> DevIssuerRejection {
        DevIssuerRejection(code: "invalid_grant", detail: detail, clientID: clientID)
    }

    /// Client authentication failed (RFC 7523 §3.2); always 401.
    static func invalidClient(_ detail: String, clientID: String? = nil) -> DevIssuerRejection {
        DevIssuerRejection(code: "invalid_client", status: 401, detail: detail, clientID: clientID)
    }

    /// A client asked for a grant it is not registered for.
    static func unauthorizedClient(_ detail: String, clientID: String?) -> DevIssuerRejection {
        DevIssuerRejection(code: "unauthorized_client", detail: detail, clientID: clientID)
    }

    /// A scope outside the client's registration.
    static func invalidScope(_ detail: String, clientID: String?) -> DevIssuerRejection {
        DevIssuerRejection(code: "invalid_scope", detail: detail, clientID: clientID)
    }

    /// A `grant_type` this issuer does not implement.
    static func unsupportedGrantType(_ detail: String) -> DevIssuerRejection {
        DevIssuerRejection(code: "unsupported_grant_type", detail: detail)
    }

    /// The replay cache is full of unexpired `jti`s; accepting more would mean forgetting one
    /// and allowing its replay, so the request is refused until some expire.
    static func replayCacheFull() -> DevIssuerRejection {
        DevIssuerRejection(
            code: "temporarily_unavailable", status: 503,
            detail: "too many unexpired assertions are remembered; retry after they expire")
    }

    /// Rewrites an assertion failure for the context it happened in: `invalid_grant` for the
    /// JWT-bearer grant's assertion, `invalid_client` (401) for client authentication.
    func asClientAuthentication() -> DevIssuerRejection {
        guard code == "invalid_grant" else { return self }
        return .invalidClient(detail, clientID: clientID)
    }
}
