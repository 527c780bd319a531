import FoundationEssentials
import TokenProxyCore

/// Why a token could not be obtained. Every message names the credential, the endpoint, the
/// HTTP status and the server's error where there is one, and says what to check — and never
/// contains a key, an assertion or a token.
package enum OAuthError: Error, Sendable, CustomStringConvertible {
    /// The key could not be loaded or could not sign (the message comes from the crypto layer).
    case key(credential: String, detail: String)
    /// The credential's settings cannot work (for example a plain-http issuer off loopback).
    case configuration(credential: String, detail: String)
    /// The discovery document could not be fetched or used.
    case discovery(credential: String, url: String, detail: String)
    /// The discovery URL answered with an error status: a 4xx (a wrong issuer URL) is a
    /// configuration problem, a 5xx/408/429 a passing one.
    case discoveryRejected(credential: String, url: String, rejection: TokenEndpointRejection)
    /// The token endpoint could not be reached or the exchange broke off.
    case transport(credential: String, endpoint: String, detail: String)
    /// The server answered with an error status.
    case rejected(credential: String, endpoint: String, rejection: TokenEndpointRejection)
    /// The server answered 2xx with something that is not a token response.
    case malformedResponse(credential: String, endpoint: String, status: Int, detail: String)

    /// What kind of failure this is, for exit codes, metrics and the retry policy:
    /// `configuration` (fix the setup; retrying will not help), `credentialRejected` (the IdP
    /// refused the key or client — revoked or expired; retried slowly), `requestRejected` (the
    /// IdP refused the request: scope, grant, endpoint path; retried slowly) or `unavailable`
    /// (unreachable or failing IdP; retried with backoff).
    package var category: TokenFetchFailureCategory {
        switch self {
        case .key, .configuration: return .configuration
        case .discovery, .transport, .malformedResponse: return .unavailable
        case .rejected(_, _, let rejection): return rejection.category
        case .discoveryRejected(_, _, let rejection):
            return rejection.category == .unavailable ? .unavailable : .requestRejected
        }
    }

    /// The IdP's `Retry-After`, when it sent one with its error.
    package var retryAfter: Duration? {
        switch self {
        case .rejected(_, _, let rejection), .discoveryRejected(_, _, let rejection):
            return rejection.retryAfter
        default:
            return nil
        }
    }

    /// The message, ending with exactly one period whatever the server's text ended with.
    package var description: String { Sentence.end(text) }

    private var text: String {
        switch self {
        case .key(let credential, let detail):
            return "credential '\(credential)': \(detail)"
        case .configuration(let credential, let detail):
            return "credential '\(credential)': \(detail)"
        case .discovery(let credential, let url, let detail):
            return
                "credential '\(credential)': OpenID discovery at \(url) failed: \(detail). "
                + "Check the issuer URL, or set the token endpoint explicitly (--token-endpoint / token_endpoint)."
        case .discoveryRejected(let credential, let url, let rejection):
            let status = "HTTP \(rejection.status)" + (rejection.detail.map { ": \($0)" } ?? "")
            return Sentence.join([
                "credential '\(credential)': OpenID discovery at \(url) failed: \(status)",
                rejection.category == .unavailable
                    ? "The server is failing; tokenproxy retries with backoff"
                    : "Check the issuer URL (it must be the exact issuer, without /.well-known/…), "
                        + "or set the token endpoint explicitly (--token-endpoint / token_endpoint)",
            ])
        case .transport(let credential, let endpoint, let detail):
            return
                "credential '\(credential)': token request to \(endpoint) failed: \(detail)"
        case .rejected(let credential, let endpoint, let rejection):
            return
                "credential '\(credential)': token request to \(endpoint) was rejected: \(rejection)"
        case .malformedResponse(let credential, let endpoint, let status, let detail):
            return
                "credential '\(credential)': token endpoint \(endpoint) answered HTTP \(status) but \(detail)"
        }
    }
}
