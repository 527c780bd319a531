import TokenProxyCore

/// Why a token could not be introspected. Each message names the credential and the
/// endpoint, and the status and server error where there is one; never the token being
/// introspected, nor the client assertion (RFC 7662 §4: the token is a secret of its caller).
package enum IntrospectionError: Error, Sendable, CustomStringConvertible {
    /// The request cannot be made as given (no token, a token too long, an unknown credential).
    case badRequest(String)
    /// The credential cannot introspect: its key cannot sign, no endpoint is known, plain
    /// http off loopback.
    case configuration(credential: String, detail: String)
    /// Discovery failed while looking for `introspection_endpoint`.
    case discovery(OAuthError)
    /// The endpoint could not be reached or the exchange broke off (timeouts included).
    case transport(credential: String, endpoint: String, detail: String)
    /// The endpoint answered with an error status: a 401/400 usually means the IdP does not
    /// accept this credential's key for introspection; 5xx and 429 mean it is unwell.
    case rejected(credential: String, endpoint: String, rejection: TokenEndpointRejection)
    /// A 2xx answer that is not an RFC 7662 response.
    case malformedResponse(credential: String, endpoint: String, status: Int, detail: String)

    /// Whether asking again later may work: the caller gets 503 and `Retry-After`. Never
    /// turned into "active" (nor "inactive": the token may well be good).
    package var isTemporary: Bool {
        switch self {
        case .transport: return true
        case .discovery(let error): return error.category == .unavailable
        case .rejected(_, _, let rejection):
            return rejection.status >= 500 || rejection.status == 429
        case .badRequest, .configuration, .malformedResponse: return false
        }
    }

    /// The outcome label for metrics: `unavailable`, `rejected`, `configuration`, `malformed`.
    package var outcome: String {
        switch self {
        case .badRequest: return "bad_request"
        case .configuration: return "configuration"
        case .malformedResponse: return "malformed"
        case .discovery, .transport: return isTemporary ? "unavailable" : "configuration"
        case .rejected: return isTemporary ? "unavailable" : "rejected"
        }
    }

    package var description: String {
        switch self {
        case .badRequest(let detail):
            return detail
        case .configuration(let credential, let detail):
            return "credential '\(credential)': \(detail)"
        case .discovery(let error):
            return "\(error)"
        case .transport(let credential, let endpoint, let detail):
            return
                "credential '\(credential)': introspection request to \(endpoint) failed: \(detail)"
        case .rejected(let credential, let endpoint, let rejection):
            var text =
                "credential '\(credential)': introspection endpoint \(endpoint) rejected the request: \(rejection)"
            if !isTemporary {
                text +=
                    " (for introspection the IdP wants a client allowed to introspect — in ZITADEL an "
                    + "API application key; its audience is set with introspection.audience)"
            }
            return text
        case .malformedResponse(let credential, let endpoint, let status, let detail):
            return
                "credential '\(credential)': introspection endpoint \(endpoint) answered HTTP \(status) but \(detail)"
        }
    }
}
