import Testing
import TokenProxyCore

@testable import TokenProxyCrypto

/// One throwaway key per supported PEM format.
struct KeyFixture: Sendable, CustomTestStringConvertible {
    let name: String
    let pem: String
    let type: KeyType
    var testDescription: String { name }

    static let all: [KeyFixture] = [
        KeyFixture(name: "RSA 2048 PKCS#1", pem: TestKeys.rsa2048PKCS1, type: .rsa(bits: 2048)),
        KeyFixture(name: "RSA 3072 PKCS#8", pem: TestKeys.rsa3072PKCS8, type: .rsa(bits: 3072)),
        KeyFixture(name: "EC P-256 SEC1", pem: TestKeys.ecP256SEC1, type: .ec(.p256)),
        KeyFixture(name: "EC P-256 PKCS#8", pem: TestKeys.ecP256PKCS8, type: .ec(.p256)),
        KeyFixture(name: "EC P-384 SEC1", pem: TestKeys.ecP384SEC1, type: .ec(.p384)),
        KeyFixture(name: "EC P-384 PKCS#8", pem: TestKeys.ecP384PKCS8, type: .ec(.p384)),
        KeyFixture(name: "EC P-521 SEC1", pem: TestKeys.ecP521SEC1, type: .ec(.p521)),
        KeyFixture(name: "EC P-521 PKCS#8", pem: TestKeys.ecP521PKCS8, type: .ec(.p521)),
        KeyFixture(name: "Ed25519 PKCS#8", pem: TestKeys.ed25519PKCS8, type: .ed25519),
    ]
}

@Suite(.timeLimit(.minutes(1)))
struct PrivateKeyTests {
    static func expectedAlgorithms(_ type: KeyType) -> Set<JWSAlgorithm> {
        switch type {
        case .rsa: return [.rs256, .rs384, .rs512, .ps256, .ps384, .ps512]
        case .ec(.p256): return [.es256]
        case .ec(.p384): return [.es384]
        case .ec(.p521): return [.es512]
        case .ed25519: return [.edDSA]
        }
    }

    static func signatureLength(_ type: KeyType) -> Int {
        switch type {
        case .rsa(let bits): return bits / 8
        case .ec(.p256): return 64
        case .ec(.p384): return 96
        case .ec(.p521): return 132
        case .ed25519: return 64
        }
    }

    @Test(arguments: KeyFixture.all)
    func signsAndVerifiesWithEverySupportedAlgorithm(_ fixture: KeyFixture) throws {
        let key = try PrivateKey.fromPEM(TestSupport.bytes(fixture.pem), origin: fixture.name)
        #expect(key.type == fixture.type)
        let publicKey = try PublicKey.fromPEM(
            TestSupport.bytes(try key.publicKeyPEM()), origin: "derived")
        #expect(publicKey.type == fixture.type)
        let message = TestSupport.bytes("eyJhbGciOiJ4In0.eyJzdWIiOiJ0ZXN0In0")
        let supported = Set(JWSAlgorithm.allCases.filter(key.supports))
        #expect(supported == Self.expectedAlgorithms(fixture.type))
        #expect(supported.contains(key.defaultAlgorithm))
        for algorithm in supported {
            let signature = try key.sign(message, algorithm: algorithm)
            #expect(signature.count == Self.signatureLength(fixture.type), "\(algorithm)")
            #expect(try key.verify(signature: signature, message: message, algorithm: algorithm))
            #expect(
                try publicKey.verify(signature: signature, message: message, algorithm: algorithm))
            #expect(
                try !key.verify(
                    signature: signature, message: message + [0x41], algorithm: algorithm))
            var tampered = signature
            tampered[tampered.count / 2] ^= 0x01
            #expect(try !key.verify(signature: tampered, message: message, algorithm: algorithm))
        }
    }

    @Test func rsaSignatureOfOnePaddingDoesNotVerifyAsTheOther() throws {
        let key = try PrivateKey.fromPEM(TestSupport.bytes(TestKeys.rsa2048PKCS1), origin: "t")
        let message = TestSupport.bytes("payload")
        let pss = try key.sign(message, algorithm: .ps256)
        #expect(try !key.verify(signature: pss, message: message, algorithm: .rs256))
        let pkcs1 = try key.sign(message, algorithm: .rs256)
        #expect(try !key.verify(signature: pkcs1, message: message, algorithm: .ps256))
        #expect(try !key.verify(signature: pkcs1, message: message, algorithm: .rs384))
    }

    @Test func ecdsaSignatureOfWrongLengthDoesNotVerify() throws {
        let key = try PrivateKey.fromPEM(TestSupport.bytes(TestKeys.ecP256SEC1), origin: "t")
        let signature = try key.sign([1, 2, 3], algorithm: .es256)
        #expect(
            try !key.verify(
                signature: Array(signature.dropLast()), message: [1, 2, 3], algorithm: .es256))
        #expect(try !key.verify(signature: [], message: [1, 2, 3], algorithm: .es256))
    }

    @Test func sec1AndPKCS8OfTheSameKeyHaveTheSameJWK() throws {
        let pairs = [
            (TestKeys.ecP256SEC1, TestKeys.ecP256PKCS8),
            (TestKeys.ecP384SEC1, TestKeys.ecP384PKCS8),
            (TestKeys.ecP521SEC1, TestKeys.ecP521PKCS8),
        ]
        for (sec1, pkcs8) in pairs {
            let a = try PrivateKey.fromPEM(TestSupport.bytes(sec1), origin: "sec1")
            let b = try PrivateKey.fromPEM(TestSupport.bytes(pkcs8), origin: "pkcs8")
            let jwk = try a.publicJWK(keyID: "k1")
            #expect(jwk == (try b.publicJWK(keyID: "k1")))
            guard case .ec(let curve) = a.type else { continue }
            #expect(jwk["kty"] == "EC" && jwk["crv"] == curve.rawValue && jwk["use"] == "sig")
            #expect(Base64URL.decode(jwk["x"]!)?.count == curve.coordinateSize)
            #expect(Base64URL.decode(jwk["y"]!)?.count == curve.coordinateSize)
        }
    }

    @Test(arguments: [KeyType.rsa(bits: 2048), .ec(.p256), .ec(.p384), .ec(.p521), .ed25519])
    func generatedKeysRoundTripThroughPKCS8(_ type: KeyType) throws {
        let key = try PrivateKey.generate(type)
        #expect(key.type == type)
        let pem = try key.privateKeyPKCS8PEM()
        #expect(String(decoding: pem.value, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect("\(pem)" == "<redacted>")
        let reloaded = try PrivateKey.fromPEM(pem.value, origin: "generated")
        #expect(try reloaded.publicJWK(keyID: nil) == key.publicJWK(keyID: nil))
        let signature = try key.sign([9, 9], algorithm: key.defaultAlgorithm)
        #expect(
            try reloaded.verify(
                signature: signature, message: [9, 9], algorithm: key.defaultAlgorithm))
        #expect(try key.publicKeyPEM().hasPrefix("-----BEGIN PUBLIC KEY-----"))
    }

    @Test func refusesRSAKeysOutside2048To4096Bits() throws {
        let error = TestSupport.error {
            try PrivateKey.fromPEM(
                TestSupport.bytes(TestKeys.rsa1024PKCS8), origin: "/keys/small.pem")
        }
        let message = try #require(error).description
        #expect(
            message.contains("1024 bits") && message.contains("2048")
                && message.contains("/keys/small.pem"))
        #expect(TestSupport.error { try PrivateKey.generate(.rsa(bits: 1024)) } != nil)
        #expect(TestSupport.error { try PrivateKey.generate(.rsa(bits: 8192)) } != nil)
    }

    @Test(arguments: ["PKCS#8", "PKCS#1"])
    func refusesEncryptedKeysWithTheCommandThatDecryptsThem(_ format: String) throws {
        let pem = format == "PKCS#8" ? TestKeys.encryptedPKCS8 : TestKeys.encryptedPKCS1
        let error = TestSupport.error {
            try PrivateKey.fromPEM(TestSupport.bytes(pem), origin: "/k.pem")
        }
        let message = try #require(error).description
        #expect(
            message.contains("encrypted") && message.contains("openssl pkey")
                && message.contains("/k.pem"))
    }

    @Test func refusesUnsupportedCurvesAndKeyTypes() throws {
        let k1 = TestSupport.error {
            try PrivateKey.fromPEM(TestSupport.bytes(TestKeys.secp256k1PKCS8), origin: "k1.pem")
        }
        #expect(try #require(k1).description.contains("secp256k1"))
        let ed448 = TestSupport.error {
            try PrivateKey.fromPEM(TestSupport.bytes(TestKeys.ed448PKCS8), origin: "ed448.pem")
        }
        #expect(try #require(ed448).description.contains("ED448"))
    }

    @Test func refusesTextWithoutAPrivateKey() throws {
        let key = try PrivateKey.generate(.ec(.p256))
        let publicOnly = TestSupport.error {
            try PrivateKey.fromPEM(TestSupport.bytes(try key.publicKeyPEM()), origin: "pub.pem")
        }
        #expect(try #require(publicOnly).description.contains("public key"))
        #expect(TestSupport.error { try PrivateKey.fromPEM([], origin: "empty") } != nil)
        let garbage = "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n"
        let broken = TestSupport.error {
            try PrivateKey.fromPEM(TestSupport.bytes(garbage), origin: "bad.pem")
        }
        #expect(try #require(broken).description.contains("bad.pem"))
    }

    @Test func algorithmMismatchNamesKeyTypeAndAllowedAlgorithms() throws {
        let ec = try PrivateKey.fromPEM(TestSupport.bytes(TestKeys.ecP256SEC1), origin: "t")
        let error = TestSupport.error { try ec.sign([1], algorithm: .es384) }
        let message = try #require(error).description
        #expect(
            message.contains("ES384") && message.contains("EC P-256")
                && message.contains("allowed: ES256"))
        let rsa = try PrivateKey.fromPEM(TestSupport.bytes(TestKeys.rsa2048PKCS1), origin: "t")
        let rsaError = try #require(
            TestSupport.error { try rsa.verify(signature: [], message: [], algorithm: .edDSA) })
        #expect(rsaError.description.contains("RSA 2048") && rsaError.description.contains("PS512"))
    }

    @Test func signsConcurrentlyFromManyTasks() async throws {
        let key = try PrivateKey.fromPEM(TestSupport.bytes(TestKeys.ecP384PKCS8), origin: "t")
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let message = [UInt8(index)]
                    let signature = try key.sign(message, algorithm: .es384)
                    return try key.verify(signature: signature, message: message, algorithm: .es384)
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 16 && results.allSatisfy { $0 })
    }
}
