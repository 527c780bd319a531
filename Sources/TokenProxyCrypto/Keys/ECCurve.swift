/// The NIST curves JWS names (RFC 7518 §6.2.1.1); the raw value is the JWK `crv`.
package enum ECCurve: String, Sendable {
    case p256 = "P-256"
    case p384 = "P-384"
    case p521 = "P-521"

    /// The OpenSSL group name (`OSSL_PKEY_PARAM_GROUP_NAME`) of the curve.
    var openSSLGroupName: String {
        switch self {
        case .p256: return "prime256v1"
        case .p384: return "secp384r1"
        case .p521: return "secp521r1"
        }
    }

    /// Bytes of one coordinate, and of each of r and s in a JOSE signature (RFC 7518 §3.4).
    var coordinateSize: Int {
        switch self {
        case .p256: return 32
        case .p384: return 48
        case .p521: return 66
        }
    }

    /// Maps OpenSSL's group names (and their NIST aliases) to a curve.
    init?(openSSLGroupName name: String) {
        switch name {
        case "prime256v1", "P-256", "secp256r1": self = .p256
        case "secp384r1", "P-384": self = .p384
        case "secp521r1", "P-521": self = .p521
        default: return nil
        }
    }
}
