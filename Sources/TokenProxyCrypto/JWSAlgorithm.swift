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

  /// The OpenSSL digest name, or nil for EdDSA (which hashes internally).
  var digestName: String? {
    switch self {
    case .rs256, .ps256, .es256: return "SHA256"
    case .rs384, .ps384, .es384: return "SHA384"
    case .rs512, .ps512, .es512: return "SHA512"
    case .edDSA: return nil
    }
  }

  /// True for the RSASSA-PSS algorithms.
  var isPSS: Bool {
    self == .ps256 || self == .ps384 || self == .ps512
  }

  /// The curve an ES* algorithm is bound to (RFC 7518 §3.4 ties each to one curve).
  var ecCurve: ECCurve? {
    switch self {
    case .es256: return .p256
    case .es384: return .p384
    case .es512: return .p521
    default: return nil
    }
  }

  /// The algorithms a key of `type` can produce, in the order shown in error messages.
  static func allowed(for type: KeyType) -> [JWSAlgorithm] {
    switch type {
    case .rsa: return [.rs256, .rs384, .rs512, .ps256, .ps384, .ps512]
    case .ec(.p256): return [.es256]
    case .ec(.p384): return [.es384]
    case .ec(.p521): return [.es512]
    case .ed25519: return [.edDSA]
    }
  }
}
