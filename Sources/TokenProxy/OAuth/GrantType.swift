import TokenProxyCore

extension GrantType {
    /// The `grant_type` form value sent to the token endpoint (RFC 7523 §2.1, RFC 6749 §4.4).
    package var formValue: String {
        switch self {
        case .jwtBearer: return "urn:ietf:params:oauth:grant-type:jwt-bearer"
        case .clientCredentials: return "client_credentials"
        }
    }
}

/// RFC 7523 §2.2: the `client_assertion_type` for JWT client authentication.
package let jwtBearerClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
