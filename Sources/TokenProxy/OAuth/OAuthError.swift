import Foundation
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
    /// The token endpoint could not be reached or the exchange broke off.
    case transport(credential: String, endpoint: String, detail: String)
    /// The server answered with an error status.
    case rejected(credential: String, endpoint: String, rejection: TokenEndpointRejection)
    /// The server answered 2xx with something that is not a token response.
    case malformedResponse(credential: String, endpoint: String, status: Int, detail: String)

    /// What kind of failure this is, for exit codes, metrics and the retry policy:
    /// `configuration` (fix the setup; retrying will not help), `credentialRejected` (the IdP
    /// refused the key or client — revoked or expired; retried slowly) or `unavailable`
    /// (unreachable or failing IdP; retried with backoff).
    package var category: TokenFetchFailureCategory {
        switch self {
        case .key, .configuration: return .configuration
        case .discovery, .transport, .malformedResponse: return .unavailable
        case .rejected(_, _, let rejection):
            return rejection.isCredentialProblem ? .credentialRejected : .unavailable
        }
    }

    package var description: String {
        switch self {
        case .key(let credential, let detail):
            return "credential '\(credential)': \(detail)"
        case .configuration(let credential, let detail):
            return "credential '\(credential)': \(detail)"
        case .discovery(let credential, let url, let detail):
            return
                "credential '\(credential)': OpenID discovery at \(url) failed: \(detail). "
                + "Check the issuer URL, or set the token endpoint explicitly (--token-endpoint / token_endpoint)."
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

    /// `invalid_grant`, `invalid_client`, `unauthorized_client` and bare 401/403 mean the IdP
    /// does not accept this key or client: retrying quickly will not help.
    package var isCredentialProblem: Bool {
        switch error {
        case "invalid_grant", "invalid_client", "unauthorized_client": return true
        case .some: return false
        case nil: return status == 401 || status == 403
        }
    }

    package var description: String {
        var text = "HTTP \(status)"
        if let error { text += " \(error)" }
        if let detail, !detail.isEmpty { text += ": \(detail)" }
        if let hint { text += ". \(hint)" }
        if let clockNote { text += ". \(clockNote)" }
        return text
    }

    /// What to check, by error code (RFC 6749 §5.2, RFC 7523 §3.1).
    var hint: String? {
        switch error {
        case "invalid_grant":
            return
                "The server did not accept the assertion: check that the key is registered and "
                + "not expired or revoked, that the assertion audience matches what the server "
                + "expects (--audience / audience), and that this host's clock is right"
        case "invalid_client":
            return
                "The server did not accept the client: check the client id, that this public key "
                + "is registered for it, and the assertion audience (often the token endpoint URL)"
        case "unauthorized_client":
            return
                "This client may not use this grant: try the other one (--grant / grant) or enable it at the IdP"
        case "unsupported_grant_type":
            return "The server does not support this grant: try the other one (--grant / grant)"
        case "invalid_scope":
            return "Check the requested scopes (--scope / scopes)"
        case .some:
            return nil
        case nil:
            switch status {
            case 401, 403:
                return "The server refused the credentials without an OAuth error code"
            case 404, 405:
                return "Check the token endpoint URL (--token-endpoint / token_endpoint)"
            case 500...599:
                return "The server is failing; tokenproxy retries with backoff"
            default:
                return nil
            }
        }
    }
}
