import FoundationEssentials
import TokenProxyCore
import TokenProxyCrypto

/// Everything needed to obtain tokens for one service user or client: its key, where to send
/// the assertion, and what to ask for. Built from a config entry or from `fetch` arguments.
package struct Credential: Sendable {
    /// The name operators use (`credentials.NAME` in the config; `fetch` uses the key file name).
    package var name: String
    /// Where the key came from, for messages (a path or `systemd credential NAME`).
    package var keyOrigin: String
    /// The loaded key; signs every assertion.
    package var key: ServiceKey
    /// The issuer URL; discovery document at `{issuer}/.well-known/openid-configuration`.
    package var issuer: URL
    /// Overrides discovery when set.
    package var tokenEndpoint: URL?
    /// Which flow turns the assertion into a token.
    package var grant: GrantType
    /// Requested scopes, sent space-separated.
    package var scopes: [String]
    /// The assertion's `aud`; defaults to the issuer. Some servers want the token endpoint URL.
    package var assertionAudience: [String]?
    /// RFC 8707 `resource` parameters.
    package var resources: [String]
    /// Further form parameters (an `audience=` some IdPs want, for example).
    package var extraParameters: [(String, String)]
    /// Signing algorithm; nil follows the key (a P-384 key signs ES384).
    package var algorithm: JWSAlgorithm?
    /// Extra trusted CA certificates (PEM) for this IdP, beside the system store.
    package var caFile: String?
    /// Assertion lifetime (1 s … 1 h).
    package var assertionLifetime: Duration
    /// How far `iat` is backdated, and how much clock difference with the IdP is tolerated
    /// before we warn.
    package var clockSkewAllowance: Duration
    /// How `POST /v1/introspect/{name}` and the proxy guard use this credential.
    package var introspection: IntrospectionConfiguration
    /// False: introspection only; the token store leaves it out.
    package var fetchesTokens: Bool
    /// The new key during a rotation (`next_key`): tried before `key`; see `TokenStore`.
    package var nextKey: ServiceKey?
    /// Where `nextKey` came from, for messages.
    package var nextKeyOrigin: String?

    package init(
        name: String, keyOrigin: String, key: ServiceKey, issuer: URL, tokenEndpoint: URL? = nil,
        grant: GrantType, scopes: [String] = [], assertionAudience: [String]? = nil,
        resources: [String] = [], extraParameters: [(String, String)] = [],
        algorithm: JWSAlgorithm? = nil, caFile: String? = nil,
        assertionLifetime: Duration = Limits.Assertion.defaultLifetime,
        clockSkewAllowance: Duration = Limits.Assertion.defaultClockSkew,
        introspection: IntrospectionConfiguration = .init(), fetchesTokens: Bool = true
    ) {
        self.name = name
        self.keyOrigin = keyOrigin
        self.key = key
        self.issuer = issuer
        self.tokenEndpoint = tokenEndpoint
        self.grant = grant
        self.scopes = scopes
        self.assertionAudience = assertionAudience
        self.resources = resources
        self.extraParameters = extraParameters
        self.algorithm = algorithm
        self.caFile = caFile
        self.assertionLifetime = assertionLifetime
        self.clockSkewAllowance = clockSkewAllowance
        self.introspection = introspection
        self.fetchesTokens = fetchesTokens
    }

    /// The grant a key's type suggests: ZITADEL service users use the JWT-bearer grant,
    /// applications and bare PEM keys (API gateways) use `client_credentials`.
    package static func defaultGrant(for key: ServiceKey) -> GrantType {
        switch key.source {
        case .zitadelServiceAccount: return .jwtBearer
        case .zitadelApplication, .pem: return .clientCredentials
        }
    }

    /// The issuer as a string without a trailing slash, for `aud` and for comparisons.
    var issuerString: String {
        var text = issuer.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
