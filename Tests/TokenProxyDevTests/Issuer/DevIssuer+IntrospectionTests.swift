import Foundation
import Testing
import TokenProxyCore
import TokenProxyNet

@testable import TokenProxy
@testable import TokenProxyDev

@Suite(.timeLimit(.minutes(1)))
struct DevIssuerIntrospectionTests {
    typealias F = DevIssuerFixture
    static let introspectionEndpoint = F.issuerURL + "/oauth/v2/introspect"

    /// Gets a token for `p256-app` with scope `read`.
    private func token(_ fixture: F) throws -> String {
        let body = try fixture.clientCredentials(try F.assertion("p256-app"), scope: "read").json()
        return try #require(body["access_token"] as? String)
    }

    private func introspect(_ fixture: F, token: String, caller: String = "rsa-user") throws
        -> HTTPServerResponse
    {
        try fixture.post(
            "/oauth/v2/introspect",
            [
                ("token", token),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                (
                    "client_assertion",
                    try F.assertion(caller, audience: [Self.introspectionEndpoint])
                ),
            ])
    }

    @Test func describesAnActiveToken() throws {
        let fixture = try F()
        let response = try introspect(fixture, token: try token(fixture))
        #expect(response.status == 200)
        let body = try response.json()
        #expect(body["active"] as? Bool == true)
        #expect(body["client_id"] as? String == "p256-app")
        #expect(body["sub"] as? String == "p256-app")
        #expect(body["scope"] as? String == "read")
        #expect(body["iss"] as? String == F.issuerURL)
        #expect(body["token_type"] as? String == "Bearer")
        #expect(body["iat"] as? Int == Int(F.nowSeconds))
        #expect(body["exp"] as? Int == Int(F.nowSeconds) + 300)
    }

    @Test func unknownTokensAreInactive() throws {
        let fixture = try F()
        let body = try introspect(fixture, token: "bm90LWEtdG9rZW4").json()
        #expect(body["active"] as? Bool == false)
        #expect(body.count == 1)
    }

    @Test func expiredTokensAreInactive() throws {
        let clock = DevIssuerTestClock(F.now)
        let issuer = try DevIssuer(
            issuer: URL(string: F.issuerURL), clients: Array(try F().issuer.clients.values),
            now: { clock.now })
        let fixture = F(issuer: issuer)
        let issued = try token(fixture)
        clock.now = F.now.addingTimeInterval(301)
        // Assertions are signed for the new time, so only the token has expired.
        let response = try fixture.post(
            "/oauth/v2/introspect",
            [
                ("token", issued),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", try F.assertion("ed-app", at: clock.now)),
            ])
        #expect(try response.json()["active"] as? Bool == false)
    }

    @Test func requiresClientAuthentication() throws {
        let fixture = try F()
        let issued = try token(fixture)
        let response = try fixture.post("/oauth/v2/introspect", [("token", issued)])
        #expect(response.status == 401)
        #expect(try response.oauthError().code == "invalid_client")
        let badAudience = try fixture.post(
            "/oauth/v2/introspect",
            [
                ("token", issued),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", try F.assertion("ed-app", audience: [F.tokenEndpoint])),
            ])
        #expect(badAudience.status == 401)
        #expect(
            try badAudience.oauthError().description
                == "aud must contain \(F.issuerURL) or \(Self.introspectionEndpoint)")
    }

    @Test func requiresTheTokenParameter() throws {
        let fixture = try F()
        let response = try fixture.post(
            "/oauth/v2/introspect",
            [
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", try F.assertion("ed-app")),
            ])
        #expect(response.status == 400)
        #expect(try response.oauthError().description == "token is missing")
    }

    @Test func userinfoNamesTheTokensClient() throws {
        let fixture = try F()
        let issued = try token(fixture)
        for method in ["GET", "POST"] {
            let response = try fixture.send(
                method, "/oidc/v1/userinfo", headers: ["Authorization": "Bearer \(issued)"])
            #expect(response.status == 200)
            let body = try response.json()
            #expect(body["sub"] as? String == "p256-app")
            #expect(body["name"] as? String == "tokenproxy dev client p256-app")
        }
    }

    @Test func userinfoRefusesUnknownTokensWithAChallenge() throws {
        let fixture = try F()
        let response = try fixture.send(
            "GET", "/oidc/v1/userinfo", headers: ["Authorization": "Bearer bm9wZQ"])
        #expect(response.status == 401)
        #expect(response.headers["WWW-Authenticate"]?.contains("error=\"invalid_token\"") == true)
        let basic = try fixture.send(
            "GET", "/oidc/v1/userinfo", headers: ["Authorization": "Basic dTpw"])
        #expect(basic.status == 401)
        #expect(basic.headers["WWW-Authenticate"]?.contains("error=\"invalid_token\"") == true)
    }

    @Test func userinfoWithoutCredentialsIsABareChallenge() throws {
        let response = try F().send("GET", "/oidc/v1/userinfo")
        #expect(response.status == 401)
        #expect(response.headers["WWW-Authenticate"] == "Bearer realm=\"tokenproxy-dev\"")
    }
}
