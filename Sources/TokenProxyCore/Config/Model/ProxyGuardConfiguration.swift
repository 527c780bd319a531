/// `proxy.routes[].guard`: the route checks the caller's bearer token (RFC 6750) with a
/// credential's introspection before anything reaches the upstream, so a legacy API needs no
/// code at all. Requests without a valid token get 401 `invalid_token`, tokens without a
/// required scope 403 `insufficient_scope` (RFC 6750 §3.1).
package struct ProxyGuardConfiguration: Sendable, Equatable {
    /// The credential whose key introspects (its `introspection` settings apply).
    package var credential: String
    /// Every one of these must be in the token's `scope`.
    package var requireScopes: [String]
    /// Must be one of the token's `aud` values, when set.
    package var requireAudience: String?
    /// Claims passed to the upstream as request headers, in configuration order. Client-sent
    /// headers of these names are always removed first, so the upstream can trust them.
    package var forwardClaims: [ClaimHeader]
    /// Pass the caller's `Authorization` on (only on a route that injects no token itself);
    /// false removes it.
    package var forwardToken: Bool

    package init(
        credential: String, requireScopes: [String] = [], requireAudience: String? = nil,
        forwardClaims: [ClaimHeader] = [], forwardToken: Bool = false
    ) {
        self.credential = credential
        self.requireScopes = requireScopes
        self.requireAudience = requireAudience
        self.forwardClaims = forwardClaims
        self.forwardToken = forwardToken
    }

    /// One `forward_claims` entry: `"sub": "X-Auth-Subject"`.
    package struct ClaimHeader: Sendable, Equatable {
        package var claim: GuardClaim
        package var header: String

        package init(claim: GuardClaim, header: String) {
            self.claim = claim
            self.header = header
        }
    }
}

/// The introspection claims a guard can forward (RFC 7662 §2.2 members).
package enum GuardClaim: String, Sendable, CaseIterable {
    case sub
    case clientID = "client_id"
    case scope, username, iss, aud, exp, iat

    /// The claim's value in `answer` as header text (`scope` and `aud` space-separated);
    /// nil when the answer lacks it.
    package func value(in answer: IntrospectionAnswer) -> String? {
        switch self {
        case .sub: answer.subject
        case .clientID: answer.clientID
        case .scope: answer.scopes.isEmpty ? nil : answer.scopes.joined(separator: " ")
        case .username: answer.username
        case .iss: answer.issuer
        case .aud: answer.audience.isEmpty ? nil : answer.audience.joined(separator: " ")
        case .exp: answer.expiresAt.map(String.init)
        case .iat: answer.issuedAt.map(String.init)
        }
    }
}
