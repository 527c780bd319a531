import FoundationEssentials
import TokenProxyCore

/// One key of an issuer's JWKS (RFC 7517 §4), turned into a ``PublicKey`` for verifying JWT
/// access tokens. Only signature keys of the kinds tokenproxy verifies are kept: RSA
/// (`n`, `e`), EC P-256/384/521 (`crv`, `x`, `y`) and Ed25519 (`OKP`, `x`). A symmetric
/// (`oct`) key is never a verification key here: an HMAC "public key" would let anyone who can
/// read the JWKS mint tokens.
package struct JSONWebKey: Sendable {
    package var keyID: String?
    /// The JWK's `alg`, when it names one: the only algorithm this key may verify.
    package var algorithm: JWSAlgorithm?
    package var key: PublicKey

    /// The usable keys of a JWKS document (`{"keys": [...]}`); unusable members (other key
    /// types, `use` other than `sig`, malformed) are skipped, not fatal: issuers publish
    /// encryption keys beside signing keys. Throws when the document is not a JWKS at all.
    package static func keySet(from body: [UInt8]) throws(CryptoError) -> [JSONWebKey] {
        guard
            let object = JSONObjectMembers(body), case .array(let items)? = object["keys"]
        else {
            throw .invalidClaim(name: "keys", problem: "the JWKS is not {\"keys\": [...]}")
        }
        let keys = items.compactMap(JSONObjectMembers.init)
        guard keys.count == items.count else {
            throw .invalidClaim(name: "keys", problem: "the JWKS is not {\"keys\": [...]}")
        }
        return keys.compactMap { try? parse($0) }
    }

    /// One JWK object.
    static func parse(_ members: JSONObjectMembers) throws -> JSONWebKey {
        if let use = members.string("use"), use != "sig" {
            throw CryptoError.invalidClaim(name: "use", problem: "not a signature key")
        }
        let keyID = members.string("kid")
        let algorithm = members.string("alg").flatMap(JWSAlgorithm.init(rawValue:))
        func bytes(_ name: String) throws -> [UInt8] {
            guard let text = members.string(name), let value = Base64URL.decode(text),
                !value.isEmpty
            else { throw CryptoError.invalidClaim(name: name, problem: "missing or not base64url") }
            return value
        }
        let der: [UInt8]
        switch members.string("kty") {
        case "RSA":
            der = DER.rsaPublicKeyInfo(modulus: try bytes("n"), exponent: try bytes("e"))
        case "EC":
            guard let curve = members.string("crv").flatMap(ECCurve.init(rawValue:)) else {
                throw CryptoError.invalidClaim(name: "crv", problem: "unsupported curve")
            }
            let x = try bytes("x")
            let y = try bytes("y")
            guard x.count == curve.coordinateSize, y.count == curve.coordinateSize else {
                throw CryptoError.invalidClaim(name: "x", problem: "wrong coordinate size")
            }
            der = DER.ecPublicKeyInfo(curve: curve, point: [0x04] + x + y)
        case "OKP":
            let x = try bytes("x")
            guard members.string("crv") == "Ed25519", x.count == 32 else {
                throw CryptoError.invalidClaim(name: "crv", problem: "only Ed25519 is supported")
            }
            der = DER.ed25519PublicKeyInfo(x)
        default:
            throw CryptoError.invalidClaim(name: "kty", problem: "not a verification key type")
        }
        let pem =
            "-----BEGIN PUBLIC KEY-----\n"
            + Data(der).base64EncodedString(options: [
                .lineLength64Characters, .endLineWithLineFeed,
            ])
            + "\n-----END PUBLIC KEY-----\n"
        let key = try PublicKey.fromPEM(Array(pem.utf8), origin: "JWK \(keyID ?? "without kid")")
        return JSONWebKey(keyID: keyID, algorithm: algorithm, key: key)
    }
}
