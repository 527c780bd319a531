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

/// The kinds of key tokenproxy signs with. RSA keys are 2048–4096 bits (enforced on load).
package enum KeyType: Sendable, Equatable, CustomStringConvertible {
  case rsa(bits: Int)
  case ec(ECCurve)
  case ed25519

  /// The RSA sizes accepted: below 2048 is breakable or soon will be (NIST SP 800-131A);
  /// above 4096 buys nothing and makes every signature slow.
  package static let rsaBits: ClosedRange<Int> = 2048...4096

  /// "RSA 2048", "EC P-384" or "Ed25519".
  package var description: String {
    switch self {
    case .rsa(let bits): return "RSA \(bits)"
    case .ec(let curve): return "EC \(curve.rawValue)"
    case .ed25519: return "Ed25519"
    }
  }
}
