/// How a credential turns its signed assertion into an access token.
public enum GrantType: String, Sendable, CaseIterable {
    /// RFC 7523 §2.1: the assertion *is* the authorization grant
    /// (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`).
    /// ZITADEL service users (key JSON of type `serviceaccount`) use this.
    case jwtBearer = "jwt-bearer"
    /// RFC 6749 §4.4 `client_credentials`, the client authenticating with `private_key_jwt`
    /// (RFC 7523 §2.2, OIDC Core §9). Applications and API gateways use this.
    case clientCredentials = "client-credentials"

    /// The `grant_type` form value sent to the token endpoint.
    var formValue: String {
        switch self {
        case .jwtBearer: return "urn:ietf:params:oauth:grant-type:jwt-bearer"
        case .clientCredentials: return "client_credentials"
        }
    }
}

/// RFC 7523 §2.2: the `client_assertion_type` for JWT client authentication.
let jwtBearerClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
