import TokenProxyCore

/// What signing needs to know about each algorithm.
extension JWSAlgorithm {
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
