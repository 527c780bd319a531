import Foundation
import TokenProxyCrypto

/// Everything needed to obtain tokens for one service user or client: its key, where to send
/// the assertion, and what to ask for. Built from a config entry or from `fetch` arguments.
public struct Credential: Sendable {
    /// The name operators use (`credentials.NAME` in the config; `fetch` uses the key file name).
    public var name: String
    /// Where the key came from, for messages (a path or `systemd credential NAME`).
    public var keyOrigin: String
    /// The loaded key; signs every assertion.
    package var key: ServiceKey
    /// The issuer URL; discovery document at `{issuer}/.well-known/openid-configuration`.
    public var issuer: URL
    /// Overrides discovery when set.
    public var tokenEndpoint: URL?
    /// Which flow turns the assertion into a token.
    public var grant: GrantType
    /// Requested scopes, sent space-separated.
    public var scopes: [String]
    /// The assertion's `aud`; defaults to the issuer. Some servers want the token endpoint URL.
    public var assertionAudience: [String]?
    /// RFC 8707 `resource` parameters.
    public var resources: [String]
    /// Further form parameters (an `audience=` some IdPs want, for example).
    public var extraParameters: [(String, String)]
    /// Signing algorithm; nil follows the key (a P-384 key signs ES384).
    package var algorithm: JWSAlgorithm?
    /// Assertion lifetime (1 s … 1 h).
    public var assertionLifetime: Duration
    /// How far `iat` is backdated, and how much clock difference with the IdP is tolerated
    /// before we warn.
    public var clockSkewAllowance: Duration

    package init(
        name: String, keyOrigin: String, key: ServiceKey, issuer: URL, tokenEndpoint: URL? = nil,
        grant: GrantType, scopes: [String] = [], assertionAudience: [String]? = nil,
        resources: [String] = [], extraParameters: [(String, String)] = [],
        algorithm: JWSAlgorithm? = nil, assertionLifetime: Duration = Credential.defaultLifetime,
        clockSkewAllowance: Duration = Credential.defaultSkew
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
        self.assertionLifetime = assertionLifetime
        self.clockSkewAllowance = clockSkewAllowance
    }

    /// Five minutes: long enough for a slow IdP, short enough that a leaked assertion is
    /// worth little (ZITADEL accepts up to an hour).
    public static let defaultLifetime: Duration = .seconds(300)
    /// Ten seconds, as in the ZITADEL guides' `iat = now - 10`.
    public static let defaultSkew: Duration = .seconds(10)
    /// RFC 7523 servers commonly refuse assertions valid for longer than this.
    public static let maximumLifetime: Duration = .seconds(3600)

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
