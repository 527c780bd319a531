import Foundation
import Testing

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct AssertionSignerTests {
    static func serviceKey(_ pem: String, keyID: String? = "kid-1") throws -> ServiceKey {
        ServiceKey(
            source: .pem, keyID: keyID, clientID: "client-1",
            privateKey: try PrivateKey.fromPEM(TestSupport.bytes(pem), origin: "test"))
    }

    /// Splits a compact JWS and returns (header JSON, payload JSON, signature, signing input).
    static func parts(_ jws: String) throws -> (String, String, [UInt8], String) {
        let pieces = jws.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(pieces.count == 3)
        let header = try #require(Base64URL.decode(pieces[0]))
        let payload = try #require(Base64URL.decode(pieces[1]))
        let signature = try #require(Base64URL.decode(pieces[2]))
        return (
            String(decoding: header, as: UTF8.self), String(decoding: payload, as: UTF8.self),
            signature, pieces[0] + "." + pieces[1]
        )
    }

    static let claims = AssertionClaims(
        issuer: "client-1", subject: "client-1", audience: ["https://idp.example"],
        issuedAt: 1_700_000_000, expiresAt: 1_700_000_060, jwtID: "abc")

    @Test func writesHeaderAndClaimsInAFixedOrder() throws {
        let signer = try AssertionSigner(key: Self.serviceKey(TestKeys.ecP256SEC1))
        let (header, payload, signature, input) = try Self.parts(try signer.sign(Self.claims).value)
        #expect(header == #"{"alg":"ES256","kid":"kid-1","typ":"JWT"}"#)
        #expect(
            payload
                == #"{"iss":"client-1","sub":"client-1","aud":"https://idp.example","iat":1700000000,"exp":1700000060,"jti":"abc"}"#
        )
        #expect(signature.count == 64)
        #expect(
            try signer.key.privateKey.verify(
                signature: signature, message: Array(input.utf8), algorithm: .es256))
    }

    @Test func omitsKidWithoutAKeyID() throws {
        let signer = try AssertionSigner(
            key: Self.serviceKey(TestKeys.rsa2048PKCS1, keyID: nil), algorithm: .ps384)
        let (header, _, signature, input) = try Self.parts(try signer.sign(Self.claims).value)
        #expect(header == #"{"alg":"PS384","typ":"JWT"}"#)
        #expect(
            try signer.key.privateKey.verify(
                signature: signature, message: Array(input.utf8), algorithm: .ps384))
    }

    @Test func writesOneAudienceAsAStringAndSeveralAsAnArray() throws {
        let signer = try AssertionSigner(key: Self.serviceKey(TestKeys.ed25519PKCS8))
        var claims = Self.claims
        claims.audience = ["a", "b"]
        claims.notBefore = 1_699_999_990
        let (_, payload, _, _) = try Self.parts(try signer.sign(claims).value)
        #expect(
            payload.contains(
                #""aud":["a","b"],"iat":1700000000,"exp":1700000060,"nbf":1699999990,"#))
        claims.audience = []
        #expect(
            TestSupport.error { try signer.sign(claims) }?.description.contains("audience") == true)
        claims.audience = [""]
        #expect(TestSupport.error { try signer.sign(claims) } != nil)
    }

    @Test func refusesExtraClaimsThatOverrideRegisteredOnes() throws {
        let signer = try AssertionSigner(key: Self.serviceKey(TestKeys.ecP256SEC1))
        for name in ["iss", "sub", "aud", "iat", "exp", "nbf", "jti"] {
            var claims = Self.claims
            claims.extra = [name: "x"]
            let error = TestSupport.error { try signer.sign(claims) }
            #expect(error?.description.contains("'\(name)'") == true)
        }
    }

    @Test func writesExtraClaimsSortedAfterTheRegisteredOnes() throws {
        let signer = try AssertionSigner(key: Self.serviceKey(TestKeys.ecP256SEC1))
        var claims = Self.claims
        claims.extra = ["scope": "openid", "a": ["z": 1, "b": [true, .null, 1.5]]]
        let (_, payload, _, _) = try Self.parts(try signer.sign(claims).value)
        #expect(
            payload.hasSuffix(#""jti":"abc","a":{"b":[true,null,1.5],"z":1},"scope":"openid"}"#))
        claims.extra = ["bad": .double(.nan)]
        #expect(
            TestSupport.error { try signer.sign(claims) }?.description.contains("'bad'") == true)
    }

    @Test(arguments: [(Int64(3600), Int64(10)), (5, 10), (1, 10), (60, 0)])
    func lifetimeIsExactlyExpMinusIat(lifetime: Int64, skew: Int64) throws {
        let signer = try AssertionSigner(key: Self.serviceKey(TestKeys.ecP256SEC1))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let jws = try signer.makeAssertion(
            audience: ["https://idp.example"], lifetime: .seconds(lifetime), skew: .seconds(skew),
            now: now)
        let (_, payload, _, _) = try Self.parts(jws.value)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
        let iat = try #require(object["iat"] as? Int)
        let exp = try #require(object["exp"] as? Int)
        #expect(Int64(exp - iat) == lifetime)
        // Never expired when signed, whatever the backdating.
        #expect(exp > 1_800_000_000)
        #expect(Int64(1_800_000_000 - iat) == min(skew, lifetime - 1))
    }

    @Test func makesAssertionsFromTheKeyIdentityAndClock() throws {
        let signer = try AssertionSigner(
            key: Self.serviceKey(TestKeys.rsa3072PKCS8), algorithm: .rs512)
        let now = Date(timeIntervalSince1970: 1_800_000_000.75)
        let jws = try signer.makeAssertion(
            audience: ["https://idp.example/oauth/v2/token"], lifetime: .seconds(300),
            skew: .seconds(30),
            now: now, includeNotBefore: true, extra: ["scope": "openid"])
        #expect("\(jws)" == "<redacted>")
        let (_, payload, signature, input) = try Self.parts(jws.value)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
        #expect(object["iss"] as? String == "client-1" && object["sub"] as? String == "client-1")
        #expect(object["aud"] as? String == "https://idp.example/oauth/v2/token")
        #expect(object["iat"] as? Int == 1_799_999_970 && object["nbf"] as? Int == 1_799_999_970)
        // exp − iat is the lifetime (the backdating comes out of it).
        #expect(object["exp"] as? Int == 1_800_000_270)
        #expect(object["scope"] as? String == "openid")
        let jti = try #require(object["jti"] as? String)
        #expect(jti.count == 22 && Base64URL.decode(jti)?.count == 16)
        #expect(
            try signer.key.privateKey.verify(
                signature: signature, message: Array(input.utf8), algorithm: .rs512))
    }

    @Test func givesEveryAssertionAFreshJWTID() throws {
        let signer = try AssertionSigner(key: Self.serviceKey(TestKeys.ed25519PKCS8))
        var seen = Set<String>()
        for _ in 0..<50 {
            let jws = try signer.makeAssertion(
                audience: ["a"], lifetime: .seconds(60), skew: .zero, now: Date())
            let (_, payload, _, _) = try Self.parts(jws.value)
            // The member name with its quotes: a random `jti` may hold the letters "nbf" (a
            // bare substring check failed about once in 250 runs).
            #expect(!payload.contains(#""nbf""#))
            seen.insert(payload)
        }
        #expect(seen.count == 50)
    }

    @Test func refusesLifetimesOutsideOneSecondToOneHourAndNegativeSkew() throws {
        let signer = try AssertionSigner(key: Self.serviceKey(TestKeys.ed25519PKCS8))
        for lifetime in [Duration.zero, .milliseconds(500), .seconds(3601), .seconds(-5)] {
            let error = TestSupport.error {
                try signer.makeAssertion(
                    audience: ["a"], lifetime: lifetime, skew: .zero, now: Date())
            }
            #expect(error?.description.contains("lifetime") == true, "\(lifetime)")
        }
        _ = try signer.makeAssertion(
            audience: ["a"], lifetime: .seconds(3600), skew: .zero, now: Date())
        _ = try signer.makeAssertion(
            audience: ["a"], lifetime: .seconds(1), skew: .zero, now: Date())
        let skew = TestSupport.error {
            try signer.makeAssertion(
                audience: ["a"], lifetime: .seconds(60), skew: .seconds(-1), now: Date())
        }
        #expect(skew?.description.contains("skew") == true)
    }

    @Test func refusesAlgorithmsTheKeyCannotProduce() throws {
        let ec = try Self.serviceKey(TestKeys.ecP384SEC1)
        let error = try #require(
            TestSupport.error { try AssertionSigner(key: ec, algorithm: .rs256) })
        #expect(
            error.description
                == "algorithm RS256 cannot be used with the EC P-384 key; allowed: ES384")
        #expect(try AssertionSigner(key: ec).algorithm == .es384)
        let rsa = try Self.serviceKey(TestKeys.rsa2048PKCS1)
        #expect(try AssertionSigner(key: rsa).algorithm == .rs256)
        #expect(TestSupport.error { try AssertionSigner(key: rsa, algorithm: .edDSA) } != nil)
    }
}
