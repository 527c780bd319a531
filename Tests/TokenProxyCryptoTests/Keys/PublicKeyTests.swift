import Testing

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct PublicKeyTests {
    @Test(arguments: KeyFixture.all)
    func jwkMatchesThePrivateKeys(_ fixture: KeyFixture) throws {
        let key = try PrivateKey.fromPEM(TestSupport.bytes(fixture.pem), origin: fixture.name)
        let pem = try key.publicKeyPEM()
        let publicKey = try PublicKey.fromPEM(TestSupport.bytes(pem), origin: "pub.pem")
        #expect(publicKey.type == key.type)
        #expect(try publicKey.jwk(keyID: "k") == key.publicJWK(keyID: "k"))
        #expect(try publicKey.pem() == pem)
    }

    @Test func refusesPrivateKeysAndGarbage() throws {
        let privatePEM = TestSupport.error {
            try PublicKey.fromPEM(TestSupport.bytes(TestKeys.ecP256PKCS8), origin: "client.pem")
        }
        #expect(try #require(privatePEM).description.contains("client.pem"))
        let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
        #expect(
            TestSupport.error { try PublicKey.fromPEM(TestSupport.bytes(garbage), origin: "g") }
                != nil)
    }

    @Test func verifyRefusesAlgorithmsOfAnotherKeyType() throws {
        let key = try PrivateKey.fromPEM(TestSupport.bytes(TestKeys.ed25519PKCS8), origin: "t")
        let publicKey = try PublicKey.fromPEM(
            TestSupport.bytes(try key.publicKeyPEM()), origin: "p")
        #expect(publicKey.defaultAlgorithm == .edDSA)
        let error = TestSupport.error {
            try publicKey.verify(signature: [], message: [], algorithm: .es256)
        }
        #expect(error?.description.contains("allowed: EdDSA") == true)
    }
}
