import Foundation
import Testing
import TokenProxyCore
import TokenProxyCrypto

@testable import TokenProxy
@testable import TokenProxyDev

/// Every way an assertion is refused, through the JWT-bearer grant (`invalid_grant`, 400) and
/// through client authentication (`invalid_client`, 401).
@Suite(.timeLimit(.minutes(1)))
struct DevIssuerAssertionTests {
    typealias F = DevIssuerFixture

    /// Sends `assertion` with the JWT-bearer grant and returns the error description.
    private func refusal(_ assertion: String, fixture: F? = nil) throws -> String {
        let response = try (fixture ?? F()).jwtBearer(assertion)
        #expect(response.status == 400)
        let error = try response.oauthError()
        #expect(error.code == "invalid_grant")
        return error.description
    }

    @Test func refusesASignatureByAnotherKey() throws {
        let detail = try refusal(try F.assertion("rsa-user", wrongKey: true))
        #expect(detail == "signature verification failed with client 'rsa-user''s registered key")
    }

    @Test func wrongKeyInClientAuthenticationIsInvalidClient() throws {
        let response = try F().clientCredentials(try F.assertion("rsa-user", wrongKey: true))
        #expect(response.status == 401)
        let error = try response.oauthError()
        #expect(error.code == "invalid_client")
        #expect(error.description.hasPrefix("signature verification failed"))
    }

    @Test func refusesAWrongAudienceNamingTheIssuer() throws {
        let detail = try refusal(try F.assertion("p256-app", audience: ["https://idp.example"]))
        #expect(detail == "aud must contain \(F.issuerURL) or \(F.tokenEndpoint)")
    }

    @Test func refusesExpiredAssertions() throws {
        let old = F.now.addingTimeInterval(-400)
        // exp = iat + lifetime and iat is backdated 10 s: 310 s puts exp 100 s in the past.
        let detail = try refusal(try F.assertion("p256-app", lifetime: .seconds(310), at: old))
        #expect(detail.hasPrefix("the assertion expired at \(F.nowSeconds - 100)"))
    }

    @Test func toleratesThirtySecondsOfClockSkew() throws {
        let fixture = try F()
        let justExpired = F.now.addingTimeInterval(-310)  // exp = now - 10
        #expect(try fixture.jwtBearer(try F.assertion("p256-app", at: justExpired)).status == 200)
        let ahead = F.now.addingTimeInterval(35)  // iat = now + 25 (skew 10 s)
        #expect(try fixture.jwtBearer(try F.assertion("p256-app", at: ahead)).status == 200)
    }

    @Test func refusesIssuedAtInTheFuture() throws {
        var claims = F.claims("p256-app")
        claims.issuedAt = F.nowSeconds + 120
        claims.expiresAt = F.nowSeconds + 300
        let detail = try refusal(try F.assertion("p256-app", claims: claims))
        #expect(detail.hasPrefix("iat is 120 s in the future"))
    }

    @Test func refusesLifetimesOverOneHour() throws {
        var claims = F.claims("p256-app")
        claims.expiresAt = claims.issuedAt + 3601
        let detail = try refusal(try F.assertion("p256-app", claims: claims))
        #expect(
            detail == "the assertion is valid for 3601 s (exp − iat); at most 3600 s is accepted")
    }

    @Test func respectsNotBefore() throws {
        var claims = F.claims("p256-app")
        claims.notBefore = F.nowSeconds + 60
        let detail = try refusal(try F.assertion("p256-app", claims: claims))
        #expect(detail == "the assertion is not valid before \(F.nowSeconds + 60), 60 s from now")
    }

    @Test func refusesReusedJTI() throws {
        let fixture = try F()
        let assertion = try F.assertion("ed-app")
        #expect(try fixture.jwtBearer(assertion).status == 200)
        let detail = try refusal(assertion, fixture: fixture)
        #expect(detail == "jti reused: each assertion may be used only once")
        #expect(
            fixture.issuer.stats.tokenRequests(clientID: "ed-app", outcome: "invalid_grant") == 1)
    }

    @Test func jtiReuseAcrossGrantsIsRefusedToo() throws {
        let fixture = try F()
        let assertion = try F.assertion("p256-app")
        #expect(try fixture.clientCredentials(assertion).status == 200)
        #expect(try fixture.jwtBearer(assertion).status == 400)
    }

    @Test func refusesMissingJTIAndExp() throws {
        let noJTI =
            #"{"iss":"p256-app","sub":"p256-app","aud":"\#(F.issuerURL)","iat":\#(F.nowSeconds),"exp":\#(F.nowSeconds + 60)}"#
        let noExp =
            #"{"iss":"p256-app","sub":"p256-app","aud":"\#(F.issuerURL)","iat":\#(F.nowSeconds),"jti":"x"}"#
        #expect(try refusal(signedRaw("p256-app", noJTI)).hasPrefix("the 'jti' claim is missing"))
        #expect(try refusal(signedRaw("p256-app", noExp)) == "the 'exp' claim is missing")
    }

    @Test func refusesAlgNone() throws {
        let jws = F.rawJWS(
            header: #"{"alg":"none"}"#, claims: F.claimsJSON("p256-app"), signature: [])
        #expect(try refusal(jws) == "alg none is not accepted: assertions must be signed")
    }

    @Test func refusesHMACAlgorithms() throws {
        let jws = F.rawJWS(
            header: #"{"alg":"HS256","typ":"JWT"}"#, claims: F.claimsJSON("p256-app"),
            signature: Array(repeating: 7, count: 32))
        #expect(try refusal(jws).hasPrefix("alg HS256 (HMAC) is not accepted"))
    }

    @Test func refusesAnAlgorithmThatDoesNotFitTheKey() throws {
        let jws = F.rawJWS(
            header: #"{"alg":"ES256","kid":"rsa-kid"}"#, claims: F.claimsJSON("rsa-user"),
            signature: Array(repeating: 1, count: 64))
        #expect(
            try refusal(jws)
                == "alg ES256 does not fit client 'rsa-user''s RSA 2048 key (its default is RS256)")
    }

    @Test func refusesAMissingOrWrongKeyID() throws {
        let signature = Array(repeating: UInt8(1), count: 256)
        let none = F.rawJWS(
            header: #"{"alg":"RS256"}"#, claims: F.claimsJSON("rsa-user"), signature: signature)
        #expect(
            try refusal(none)
                == "the JWS header has no kid; client 'rsa-user' signs with key id 'rsa-kid'")
        let other = F.rawJWS(
            header: #"{"alg":"RS256","kid":"old"}"#, claims: F.claimsJSON("rsa-user"),
            signature: signature)
        #expect(try refusal(other).hasPrefix("the JWS header has kid 'old'"))
    }

    @Test func refusesUnknownClients() throws {
        let key = ServiceKey(
            source: .pem, keyID: nil, clientID: "stranger", privateKey: DevIssuerTestKeys.p256)
        let assertion = try AssertionSigner(key: key).makeAssertion(
            audience: [F.issuerURL], lifetime: .seconds(60), skew: .zero, now: F.now
        ).value
        let fixture = try F()
        #expect(try refusal(assertion, fixture: fixture).hasPrefix("unknown client 'stranger'"))
        #expect(fixture.issuer.stats.tokenRequests(clientID: nil, outcome: "invalid_grant") == 1)
    }

    @Test func refusesDifferentIssuerAndSubject() throws {
        var claims = F.claims("p256-app")
        claims.subject = "ed-app"
        #expect(try refusal(try F.assertion("p256-app", claims: claims)).contains("differ"))
    }

    @Test func refusesTamperedClaims() throws {
        let parts = try F.assertion("p256-app").split(separator: ".").map(String.init)
        let forged = Base64URL.encode(Array(F.claimsJSON("p256-app").utf8))
        #expect(
            try refusal([parts[0], forged, parts[2]].joined(separator: ".")).hasPrefix(
                "signature verification failed"))
    }

    @Test func refusesTextThatIsNotACompactJWS() throws {
        #expect(try refusal("not-a-jwt").hasPrefix("the assertion is not a compact JWS"))
        #expect(try refusal("a.b.c.d.e").hasPrefix("the assertion is not a compact JWS"))
        #expect(try refusal("e30.e30.!!") == "the assertion's signature is not unpadded base64url")
        let notJSON = Base64URL.encode(Array("hello".utf8))
        #expect(try refusal("\(notJSON).e30.AAAA") == "the assertion's header is not a JSON object")
    }

    /// Signs raw claims JSON with `clientID`'s key and default algorithm.
    private func signedRaw(_ clientID: String, _ claims: String) throws -> String {
        let key = F.serviceKey(clientID)
        let header = #"{"alg":"\#(key.privateKey.defaultAlgorithm.rawValue)"}"#
        let input =
            Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let signature = try key.privateKey.sign(
            Array(input.utf8), algorithm: key.privateKey.defaultAlgorithm)
        return input + "." + Base64URL.encode(signature)
    }
}
