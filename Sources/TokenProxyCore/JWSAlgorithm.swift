/// JWS algorithms, RFC 7518 §3.1 and RFC 8037 §3.1. The raw value is the `alg` header value.
package enum JWSAlgorithm: String, CaseIterable, Sendable {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    case rs256 = "RS256"
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    case rs384 = "RS384"
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    case rs512 = "RS512"
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt length 32 (RFC 7518 §3.5).
    case ps256 = "PS256"
    /// RSASSA-PSS with SHA-384, salt length 48.
    case ps384 = "PS384"
    /// RSASSA-PSS with SHA-512, salt length 64.
    case ps512 = "PS512"
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
    case es256 = "ES256"
    /// ECDSA on P-384 with SHA-384.
    case es384 = "ES384"
    /// ECDSA on P-521 with SHA-512.
    case es512 = "ES512"
    /// Ed25519 (RFC 8037 §3.1); "pure" EdDSA, the message is not hashed first.
    case edDSA = "EdDSA"
}
