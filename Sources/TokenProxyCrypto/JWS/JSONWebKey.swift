import Foundation
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
            let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let keys = object["keys"] as? [[String: Any]]
        else {
            throw .invalidClaim(name: "keys", problem: "the JWKS is not {\"keys\": [...]}")
        }
        return keys.compactMap { try? parse($0) }
    }

    /// One JWK object.
    static func parse(_ members: [String: Any]) throws -> JSONWebKey {
        if let use = members["use"] as? String, use != "sig" {
            throw CryptoError.invalidClaim(name: "use", problem: "not a signature key")
        }
        let keyID = members["kid"] as? String
        let algorithm = (members["alg"] as? String).flatMap(JWSAlgorithm.init(rawValue:))
        func bytes(_ name: String) throws -> [UInt8] {
            guard let text = members[name] as? String, let value = Base64URL.decode(text),
                !value.isEmpty
            else { throw CryptoError.invalidClaim(name: name, problem: "missing or not base64url") }
            return value
        }
        let der: [UInt8]
        switch members["kty"] as? String {
        case "RSA":
            der = DER.rsaPublicKeyInfo(modulus: try bytes("n"), exponent: try bytes("e"))
        case "EC":
            guard let curve = (members["crv"] as? String).flatMap(ECCurve.init(rawValue:)) else {
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
            guard members["crv"] as? String == "Ed25519", x.count == 32 else {
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

/// Just enough DER (X.690) to write a SubjectPublicKeyInfo (RFC 5280 §4.1) for each key kind.
enum DER {
    static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var rest = count
        while rest > 0 {
            bytes.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + length(content.count) + content
    }

    static func sequence(_ parts: [UInt8]...) -> [UInt8] { tlv(0x30, parts.flatMap { $0 }) }

    /// A positive INTEGER from big-endian magnitude bytes.
    static func integer(_ magnitude: [UInt8]) -> [UInt8] {
        var bytes = Array(magnitude.drop(while: { $0 == 0 }))
        if bytes.isEmpty { bytes = [0] }
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return tlv(0x02, bytes)
    }

    static func bitString(_ bytes: [UInt8]) -> [UInt8] { tlv(0x03, [0] + bytes) }

    // OIDs, encoded: rsaEncryption 1.2.840.113549.1.1.1, id-ecPublicKey 1.2.840.10045.2.1,
    // the curves (RFC 5480 §2.1.1.1), id-Ed25519 1.3.101.112 (RFC 8410 §3).
    static let rsaEncryption: [UInt8] = [
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01,
    ]
    static let ecPublicKey: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    static let ed25519: [UInt8] = [0x06, 0x03, 0x2B, 0x65, 0x70]

    static func curveOID(_ curve: ECCurve) -> [UInt8] {
        switch curve {
        case .p256: [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
        case .p384: [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22]
        case .p521: [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23]
        }
    }

    static func rsaPublicKeyInfo(modulus: [UInt8], exponent: [UInt8]) -> [UInt8] {
        sequence(
            sequence(rsaEncryption, [0x05, 0x00]),
            bitString(sequence(integer(modulus), integer(exponent))))
    }

    static func ecPublicKeyInfo(curve: ECCurve, point: [UInt8]) -> [UInt8] {
        sequence(sequence(ecPublicKey, curveOID(curve)), bitString(point))
    }

    static func ed25519PublicKeyInfo(_ x: [UInt8]) -> [UInt8] {
        sequence(sequence(ed25519), bitString(x))
    }
}
