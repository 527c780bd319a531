import FoundationEssentials

/// `credentials.*.introspection`: how `POST /v1/introspect/{credential}` checks tokens with
/// this credential's key (RFC 7662, the key as `private_key_jwt` client authentication).
/// Every credential can introspect; the object only changes the defaults.
package struct IntrospectionConfiguration: Sendable, Equatable {
    /// How a token is checked.
    package var mode: IntrospectionMode
    /// The `aud` a JWT access token must carry (required for the `jwt` modes).
    package var tokenAudience: String?
    /// Active answers are reused until the token's `exp`, at most this long; zero asks the IdP
    /// for every request.
    package var cacheTTL: Duration
    /// Inactive answers are reused this long; zero does not keep them.
    package var inactiveTTL: Duration
    /// The client assertion's `aud`; `nil` means the issuer (some servers want the
    /// introspection endpoint's URL).
    package var audience: [String]?
    /// Overrides the discovered `introspection_endpoint`.
    package var endpoint: URL?

    package init(
        mode: IntrospectionMode = .introspect,
        cacheTTL: Duration = Limits.Introspection.defaultCacheTTL,
        inactiveTTL: Duration = Limits.Introspection.defaultInactiveTTL,
        audience: [String]? = nil, endpoint: URL? = nil, tokenAudience: String? = nil
    ) {
        self.mode = mode
        self.tokenAudience = tokenAudience
        self.cacheTTL = cacheTTL
        self.inactiveTTL = inactiveTTL
        self.audience = audience
        self.endpoint = endpoint
    }

    /// The cache windows as a policy.
    package var cachePolicy: IntrospectionCachePolicy {
        IntrospectionCachePolicy(activeTTL: cacheTTL, inactiveTTL: inactiveTTL)
    }
}

/// `introspection.mode`.
package enum IntrospectionMode: String, Sendable, CaseIterable {
    /// RFC 7662 at the IdP for every token not in the cache.
    case introspect
    /// JWT access tokens are validated locally (signature with the issuer's JWKS, `iss`,
    /// `aud`, `exp`/`nbf`); opaque tokens are introspected. A revoked JWT stays valid until
    /// its `exp`.
    case jwt
    /// JWTs are validated locally first (a bad one never costs an IdP request), then
    /// introspected for revocation; opaque tokens are introspected.
    case jwtAndIntrospect = "jwt+introspect"

    /// Whether JWT access tokens are validated locally.
    package var validatesJWT: Bool { self != .introspect }
}
