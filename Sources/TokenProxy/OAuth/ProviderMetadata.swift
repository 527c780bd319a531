import FoundationEssentials

/// The parts of an OpenID Provider's discovery document (OIDC Discovery §3, RFC 8414 §2) that
/// tokenproxy uses.
package struct ProviderMetadata: Sendable, Decodable {
    package var issuer: String
    package var tokenEndpoint: URL
    package var introspectionEndpoint: URL?
    /// The issuer's signing keys (RFC 7517), for validating JWT access tokens.
    package var jwksURI: URL?
    package var userinfoEndpoint: URL?
    package var grantTypesSupported: [String]?

    enum CodingKeys: String, CodingKey {
        case issuer
        case tokenEndpoint = "token_endpoint"
        case introspectionEndpoint = "introspection_endpoint"
        case jwksURI = "jwks_uri"
        case userinfoEndpoint = "userinfo_endpoint"
        case grantTypesSupported = "grant_types_supported"
    }

    /// `{issuer}/.well-known/openid-configuration`, as OIDC Discovery §4 builds it (appending
    /// to an issuer with a path, unlike RFC 8414's insertion).
    static func discoveryURL(issuer: String) -> URL? {
        URL(string: issuer + "/.well-known/openid-configuration")
    }
}
