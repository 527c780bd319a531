import Testing

@testable import TokenProxyCrypto

/// Deterministic algorithms against the RFCs' own examples. PSS and ECDSA are randomized and
/// are checked by sign-then-verify in `PrivateKeyTests` instead.
@Suite(.timeLimit(.minutes(1)))
struct PrivateKeyKnownAnswerTests {
    @Test func rs256ReproducesRFC7515AppendixA2() throws {
        let pem = TestSupport.rsaPKCS1PEM(jwk: RFCVectors.rfc7515RSAKey)
        let key = try PrivateKey.fromPEM(TestSupport.bytes(pem), origin: "RFC 7515 A.2")
        #expect(key.type == .rsa(bits: 2048))
        let input = TestSupport.bytes(RFCVectors.rfc7515SigningInput)
        let signature = try key.sign(input, algorithm: .rs256)
        #expect(Base64URL.encode(signature) == RFCVectors.rfc7515Signature)
        #expect(try key.verify(signature: signature, message: input, algorithm: .rs256))
    }

    @Test func rsaJWKMatchesRFC7515AppendixA2PublicMembers() throws {
        let pem = TestSupport.rsaPKCS1PEM(jwk: RFCVectors.rfc7515RSAKey)
        let key = try PrivateKey.fromPEM(TestSupport.bytes(pem), origin: "RFC 7515 A.2")
        let jwk = try key.publicJWK(keyID: "2011-04-29")
        #expect(
            jwk == [
                "kty": "RSA", "n": RFCVectors.rfc7515RSAKey["n"]!, "e": "AQAB",
                "kid": "2011-04-29", "use": "sig", "alg": "RS256",
            ])
    }

    @Test func edDSAReproducesRFC8037AppendixA4() throws {
        let seed = try #require(Base64URL.decode(RFCVectors.rfc8037D))
        let pem = TestSupport.ed25519PKCS8PEM(seed: seed)
        let key = try PrivateKey.fromPEM(TestSupport.bytes(pem), origin: "RFC 8037 A.1")
        #expect(key.type == .ed25519)
        let input = TestSupport.bytes(RFCVectors.rfc8037SigningInput)
        let signature = try key.sign(input, algorithm: .edDSA)
        #expect(Base64URL.encode(signature) == RFCVectors.rfc8037Signature)
        // RFC 8037 A.2: the public key derived from d.
        #expect(
            try key.publicJWK(keyID: nil) == [
                "kty": "OKP", "crv": "Ed25519", "x": RFCVectors.rfc8037X, "use": "sig",
                "alg": "EdDSA",
            ])
    }

    @Test func rfc8037SignatureVerifiesWithThePublicKeyAlone() throws {
        let seed = try #require(Base64URL.decode(RFCVectors.rfc8037D))
        let key = try PrivateKey.fromPEM(
            TestSupport.bytes(TestSupport.ed25519PKCS8PEM(seed: seed)), origin: "RFC 8037 A.1")
        let publicKey = try PublicKey.fromPEM(
            TestSupport.bytes(try key.publicKeyPEM()), origin: "derived public key")
        let signature = try #require(Base64URL.decode(RFCVectors.rfc8037Signature))
        let input = TestSupport.bytes(RFCVectors.rfc8037SigningInput)
        #expect(try publicKey.verify(signature: signature, message: input, algorithm: .edDSA))
        #expect(
            try !publicKey.verify(signature: signature, message: input + [0x2E], algorithm: .edDSA))
    }
}
