import FoundationEssentials
import TokenProxyCore

/// An error answer from a token endpoint, in whichever shape the server chose: RFC 6749 §5.2
/// JSON, an HTML error page, plain text, or nothing at all.
package struct TokenEndpointRejection: Sendable, CustomStringConvertible {
    /// The HTTP status code.
    package var status: Int
    /// RFC 6749 `error` code, when the body was OAuth error JSON.
    package var error: String?
    /// `error_description`, or a short excerpt of a non-JSON body (sanitized, truncated).
    package var detail: String?
    /// Added when the server's clock differs from ours by more than the allowance.
    package var clockNote: String?
    /// The server's `Retry-After` (RFC 9110 §10.2.3), as a delay from when the answer arrived.
    package var retryAfter: Duration?
    /// What we sent, for the checklist of a code-less 401/403 (nil when unknown).
    package var request: TokenRequestSummary?

    /// How to retry and report this answer (RFC 9110 §15.5, §15.6; RFC 6749 §5.2):
    /// - 5xx, 408 Request Timeout and 429 Too Many Requests, or the codes `server_error` and
    ///   `temporarily_unavailable`: the IdP cannot answer now → `unavailable`, fast backoff.
    /// - `invalid_grant`, `invalid_client`, `unauthorized_client`, or a code-less 401/403: the
    ///   IdP does not accept this key or client → `credentialRejected`.
    /// - every other answer (400 `invalid_scope`, `unsupported_grant_type`, an empty 400, 404,
    ///   405, a redirect): the request itself must change → `requestRejected`.
    package var category: TokenFetchFailureCategory {
        if status >= 500 || status == 408 || status == 429 { return .unavailable }
        switch error {
        case "server_error", "temporarily_unavailable": return .unavailable
        case "invalid_grant", "invalid_client", "unauthorized_client": return .credentialRejected
        case .some: return .requestRejected
        case nil: return status == 401 || status == 403 ? .credentialRejected : .requestRejected
        }
    }

    /// Whether the IdP refused the key or client (see ``category``).
    package var isCredentialProblem: Bool { category == .credentialRejected }

    package var description: String {
        var head = "HTTP \(status)"
        if let error { head += " \(error)" }
        if let detail, !detail.isEmpty { head += ": \(detail)" }
        return Sentence.join([head, hint, clockNote])
    }

    /// Parses `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), relative to
    /// `now`. A date in the past means "now" (zero); garbage is ignored.
    static func parseRetryAfter(_ value: String?, now: Date) -> Duration? {
        guard let text = value?.trimmingSpaces(), !text.isEmpty else {
            return nil
        }
        if text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Beyond the cap it makes no difference; avoid overflow on absurd values.
            guard text.utf8.count <= 9, let seconds = Int64(text) else {
                return Limits.IdP.maxRetryAfter
            }
            return .seconds(seconds)
        }
        guard let date = ClockCheck.parseHTTPDate(text) else { return nil }
        return .seconds(max(0, Int64(date.timeIntervalSince(now).rounded(.up))))
    }
}

/// What a token request asked for, kept beside a rejection so that a server that says nothing
/// useful (glewlwyd answers an empty 403 for a wrong key, a wrong `aud`, an unknown client and a
/// missing scope alike) still gets us a checklist of what to look at. No secrets in here.
package struct TokenRequestSummary: Sendable, Equatable {
    /// The client id (`iss`/`sub` of the assertion).
    package var clientID: String
    /// The key id (`kid`) in the assertion header, if the key has one.
    package var keyID: String?
    /// The assertion's `aud`.
    package var audience: [String]
    /// The issuer URL as configured (no trailing slash).
    package var issuer: String
    /// The token endpoint the request went to.
    package var tokenEndpoint: String
    /// The scopes requested (empty: no `scope` parameter).
    package var scopes: [String]

    package init(
        clientID: String, keyID: String?, audience: [String], issuer: String,
        tokenEndpoint: String, scopes: [String]
    ) {
        self.clientID = clientID
        self.keyID = keyID
        self.audience = audience
        self.issuer = issuer
        self.tokenEndpoint = tokenEndpoint
        self.scopes = scopes
    }
}
