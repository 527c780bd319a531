import Foundation
import Testing
import TokenProxyCore
import TokenProxyCrypto

@testable import TokenProxy
@testable import TokenProxyDev

@Suite(.timeLimit(.minutes(1)))
struct DevIssuerTokenTests {
    typealias F = DevIssuerFixture

    static let signers: [(String, JWSAlgorithm)] = [
        ("rsa-user", .rs256), ("rsa-user", .ps256), ("rsa-user", .rs512), ("p256-app", .es256),
        ("p384-app", .es384), ("ed-app", .edDSA),
    ]

    @Test(arguments: signers)
    func jwtBearerGrantIssuesTokenForEachAlgorithm(clientID: String, algorithm: JWSAlgorithm)
        throws
    {
        let fixture = try F()
        let response = try fixture.jwtBearer(try F.assertion(clientID, algorithm: algorithm))
        #expect(response.status == 200)
        let body = try response.json()
        let token = try #require(body["access_token"] as? String)
        #expect(Base64URL.decode(token)?.count == 32)
        #expect(body["token_type"] as? String == "Bearer")
        #expect(fixture.issuer.stats.issued(to: clientID) == 1)
    }

    @Test(arguments: signers)
    func clientCredentialsGrantIssuesTokenForEachAlgorithm(
        clientID: String, algorithm: JWSAlgorithm
    ) throws {
        let fixture = try F()
        let response = try fixture.clientCredentials(
            try F.assertion(clientID, algorithm: algorithm), clientID: clientID)
        #expect(response.status == 200)
        #expect(try response.json()["token_type"] as? String == "Bearer")
    }

    @Test func tokenResponseStatesLifetimeScopeAndNoStore() throws {
        let fixture = try F()
        let response = try fixture.jwtBearer(try F.assertion("rsa-user"), scope: "openid read")
        #expect(response.headers["Cache-Control"] == "no-store")
        #expect(response.headers["Content-Type"] == "application/json")
        let body = try response.json()
        #expect(body["expires_in"] as? Int == 300)
        #expect(body["scope"] as? String == "openid read")
    }

    @Test func expiresInFollowsTheConfiguredLifetime() throws {
        let now = F.now
        let issuer = try DevIssuer(
            issuer: URL(string: F.issuerURL), clients: try F().issuer.clients.values.map { $0 },
            tokenLifetime: .seconds(42), now: { now })
        let fixture = F(issuer: issuer)
        let body = try fixture.jwtBearer(try F.assertion("p256-app")).json()
        #expect(body["expires_in"] as? Int == 42)
    }

    @Test func omittedScopeGrantsAllOfTheClientsScopes() throws {
        let fixture = try F()
        let body = try fixture.clientCredentials(try F.assertion("p256-app")).json()
        #expect(body["scope"] as? String == "openid profile read")
    }

    @Test func acceptsTheTokenEndpointAsAudienceAndAudienceArrays() throws {
        let fixture = try F()
        let toEndpoint = try F.assertion("p256-app", audience: [F.tokenEndpoint])
        #expect(try fixture.clientCredentials(toEndpoint).status == 200)
        let array = try F.assertion("p256-app", audience: ["https://elsewhere", F.issuerURL])
        #expect(try fixture.clientCredentials(array).status == 200)
    }

    @Test func acceptsSeveralResourceIndicators() throws {
        let fixture = try F()
        let response = try fixture.post(
            "/oauth/v2/token",
            [
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", try F.assertion("ed-app")), ("resource", "https://a.example"),
                ("resource", "https://b.example"),
            ])
        #expect(response.status == 200)
    }

    @Test func refusesScopesOutsideTheRegistration() throws {
        let fixture = try F()
        let response = try fixture.jwtBearer(try F.assertion("rsa-user"), scope: "openid admin")
        #expect(response.status == 400)
        let error = try response.oauthError()
        #expect(error.code == "invalid_scope")
        #expect(error.description.contains("admin"))
        #expect(
            fixture.issuer.stats.tokenRequests(clientID: "rsa-user", outcome: "invalid_scope") == 1)
    }

    @Test func refusesAGrantTheClientIsNotRegisteredFor() throws {
        let fixture = try F()
        let response = try fixture.jwtBearer(try F.assertion("cc-only"))
        #expect(response.status == 400)
        #expect(try response.oauthError().code == "unauthorized_client")
    }

    @Test func refusesUnsupportedGrantTypes() throws {
        let fixture = try F()
        let response = try fixture.post(
            "/oauth/v2/token", [("grant_type", "password"), ("username", "u")])
        #expect(response.status == 400)
        let error = try response.oauthError()
        #expect(error.code == "unsupported_grant_type")
        #expect(error.description.contains("'password'"))
        #expect(
            fixture.issuer.stats.tokenRequests(clientID: nil, outcome: "unsupported_grant_type")
                == 1)
    }

    @Test func refusesMissingGrantTypeAndAssertion() throws {
        let fixture = try F()
        #expect(try fixture.post("/oauth/v2/token", []).oauthError().code == "invalid_request")
        let noAssertion = try fixture.post(
            "/oauth/v2/token", [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")])
        #expect(try noAssertion.oauthError().code == "invalid_request")
        #expect(try noAssertion.oauthError().description.hasPrefix("assertion is missing"))
    }

    @Test func clientCredentialsWithoutClientAuthenticationIs401() throws {
        let fixture = try F()
        let response = try fixture.post("/oauth/v2/token", [("grant_type", "client_credentials")])
        #expect(response.status == 401)
        #expect(try response.oauthError().code == "invalid_client")
        let wrongType = try fixture.post(
            "/oauth/v2/token",
            [
                ("grant_type", "client_credentials"), ("client_assertion_type", "secret"),
                ("client_assertion", try F.assertion("p256-app")),
            ])
        #expect(wrongType.status == 401)
        #expect(try wrongType.oauthError().description.contains("client_assertion_type must be"))
    }

    @Test func clientIDMustMatchTheAssertionSubject() throws {
        let fixture = try F()
        let response = try fixture.clientCredentials(
            try F.assertion("p256-app"), clientID: "ed-app")
        #expect(response.status == 401)
        let error = try response.oauthError()
        #expect(error.code == "invalid_client")
        #expect(
            error.description == "client_id 'ed-app' does not match the assertion's sub 'p256-app'")
    }

    @Test func refusesMalformedForms() throws {
        let fixture = try F()
        let form: HTTPFields = ["Content-Type": "application/x-www-form-urlencoded"]
        for body in ["grant_type=client_credentials&x=%zz", "grant_type=a&grant_type=b", "x=%4"] {
            let response = try fixture.send(
                "POST", "/oauth/v2/token", headers: form, body: Array(body.utf8))
            #expect(response.status == 400)
            #expect(try response.oauthError().code == "invalid_request")
        }
        let json = try fixture.send(
            "POST", "/oauth/v2/token", headers: ["Content-Type": "application/json"],
            body: Array("{}".utf8))
        #expect(
            try json.oauthError().description
                == "Content-Type must be application/x-www-form-urlencoded")
    }

    @Test func errorDescriptionsNeverEchoTheAssertion() throws {
        let fixture = try F()
        let assertion = try F.assertion("rsa-user", wrongKey: true)
        let response = try fixture.jwtBearer(assertion)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(!text.contains(assertion))
        for part in assertion.split(separator: ".") { #expect(!text.contains(part)) }
    }
}
