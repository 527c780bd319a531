import Foundation
import Testing
import TokenProxyCore

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct CompactJWSTests {
    static func token(_ key: PrivateKey, algorithm: JWSAlgorithm, kid: String?, claims: String)
        throws -> String
    {
        var header = #"{"alg":"\#(algorithm.rawValue)""#
        if let kid { header += #","kid":"\#(kid)""# }
        header += "}"
        let input =
            Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let signature = try key.sign(Array(input.utf8), algorithm: algorithm)
        return input + "." + Base64URL.encode(signature)
    }

    /// A generated key's public JWK, read back like an issuer's JWKS member; without its
    /// `alg` unless `keepAlgorithm` (a JWK's `alg` restricts the key to that one algorithm).
    static func jwk(_ key: PrivateKey, kid: String, keepAlgorithm: Bool = false) throws
        -> JSONWebKey
    {
        var members: [String: Any] = try key.publicJWK(keyID: kid)
        if !keepAlgorithm { members["alg"] = nil }
        return try parseJWK(members)
    }

    /// One JWK member of a JWKS, as `keySet(from:)` hands it to `JSONWebKey.parse`.
    static func parseJWK(_ members: [String: Any]) throws -> JSONWebKey {
        let bytes = Array(try JSONSerialization.data(withJSONObject: members))
        return try JSONWebKey.parse(try #require(JSONObjectMembers(bytes)))
    }

    @Test(arguments: [
        (KeyType.rsa(bits: 2048), JWSAlgorithm.rs256), (.rsa(bits: 2048), .ps256),
        (.ec(.p256), .es256), (.ec(.p384), .es384), (.ec(.p521), .es512), (.ed25519, .edDSA),
    ])
    func verifiesWithAKeyFromItsJWK(type: KeyType, algorithm: JWSAlgorithm) throws {
        let key = try PrivateKey.generate(type)
        let set = [try Self.jwk(key, kid: "k1")]
        let claims = #"{"iss":"https://idp","exp":1}"#
        let parsed = try CompactJWS.parse(
            try Self.token(key, algorithm: algorithm, kid: "k1", claims: claims))
        #expect(try CompactJWS.verify(parsed, keys: set) == Array(claims.utf8))
    }

    @Test func refusesNoneHMACAndUnknownAlgorithmsByName() {
        let claims = Base64URL.encode(Array(#"{"a":1}"#.utf8))
        for alg in ["none", "HS256", "HS512", "RS1"] {
            let header = Base64URL.encode(Array(#"{"alg":"\#(alg)"}"#.utf8))
            #expect(throws: CompactJWS.Failure.algorithmRefused(alg)) {
                try CompactJWS.parse(header + "." + claims + ".")
            }
        }
        #expect(throws: CompactJWS.Failure.notAJWT) { try CompactJWS.parse("opaque-token") }
        let crit = Base64URL.encode(Array(#"{"alg":"RS256","crit":["x"]}"#.utf8))
        #expect(throws: CompactJWS.Failure.criticalHeader) {
            try CompactJWS.parse(crit + "." + claims + ".c2ln")
        }
    }

    @Test func refusesOtherKeysWrongKidAndTampering() throws {
        let key = try PrivateKey.generate(.ec(.p256))
        let other = try PrivateKey.generate(.ec(.p256))
        let token = try Self.token(key, algorithm: .es256, kid: "k1", claims: #"{"a":1}"#)
        let parsed = try CompactJWS.parse(token)
        #expect(throws: CompactJWS.Failure.badSignature) {
            try CompactJWS.verify(parsed, keys: [try Self.jwk(other, kid: "k1")])
        }
        #expect(throws: CompactJWS.Failure.unknownKey("k1")) {
            try CompactJWS.verify(parsed, keys: [try Self.jwk(key, kid: "k2")])
        }
        // A JWK's alg restricts its key: an RS256 key is no candidate for a PS256 token.
        let rsaToken = try CompactJWS.parse(
            try Self.token(
                try PrivateKey.generate(.rsa(bits: 2048)), algorithm: .ps256, kid: "r", claims: "{}"
            ))
        let rsaKey = try PrivateKey.generate(.rsa(bits: 2048))
        #expect(throws: CompactJWS.Failure.unknownKey("r")) {
            try CompactJWS.verify(
                rsaToken, keys: [try Self.jwk(rsaKey, kid: "r", keepAlgorithm: true)])
        }
        // An RSA key never verifies an ES256 token, even with the right kid.
        let rsa = try PrivateKey.generate(.rsa(bits: 2048))
        #expect(throws: CompactJWS.Failure.badSignature) {
            try CompactJWS.verify(parsed, keys: [try Self.jwk(rsa, kid: "k1")])
        }
        let parts = token.split(separator: ".")
        let tampered = parts[0] + "." + Base64URL.encode(Array(#"{"a":2}"#.utf8)) + "." + parts[2]
        #expect(throws: CompactJWS.Failure.badSignature) {
            try CompactJWS.verify(
                try CompactJWS.parse(String(tampered)), keys: [try Self.jwk(key, kid: "k1")])
        }
    }

    @Test func keySetSkipsSymmetricAndEncryptionKeys() throws {
        let key = try PrivateKey.generate(.ed25519)
        var members: [String: Any] = try key.publicJWK(keyID: "ok")
        let body: [String: Any] = [
            "keys": [
                ["kty": "oct", "k": "c2VjcmV0", "kid": "hmac"],
                ["kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"],
                members,
            ]
        ]
        let set = try JSONWebKey.keySet(
            from: Array(try JSONSerialization.data(withJSONObject: body)))
        #expect(set.map(\.keyID) == ["ok"])
        members["x"] = "AAAA"
        #expect(throws: (any Error).self) { try Self.parseJWK(members) }
    }
}
