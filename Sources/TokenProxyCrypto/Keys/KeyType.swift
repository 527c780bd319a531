/// The kinds of key tokenproxy signs with. RSA keys are 2048–4096 bits (enforced on load).
package enum KeyType: Sendable, Equatable, CustomStringConvertible {
    case rsa(bits: Int)
    case ec(ECCurve)
    case ed25519

    /// "RSA 2048", "EC P-384" or "Ed25519".
    package var description: String {
        switch self {
        case .rsa(let bits): return "RSA \(bits)"
        case .ec(let curve): return "EC \(curve.rawValue)"
        case .ed25519: return "Ed25519"
        }
    }
}
