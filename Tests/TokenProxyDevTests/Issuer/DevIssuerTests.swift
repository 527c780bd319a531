import Foundation
import Testing
import TokenProxyCore

@testable import TokenProxy
@testable import TokenProxyDev

/// Routing, set-up and statistics of the dev issuer.
@Suite(.timeLimit(.minutes(1)))
struct DevIssuerTests {
    typealias F = DevIssuerFixture

    @Test func answers503UntilTheIssuerIsSetAndThenServes() throws {
        let fixture = try F(issuerURL: nil)
        #expect(try fixture.send("GET", "/.well-known/openid-configuration").status == 503)
        try fixture.issuer.setIssuer(URL(string: F.issuerURL)!)
        #expect(try fixture.send("GET", "/.well-known/openid-configuration").status == 200)
        #expect(try fixture.jwtBearer(try F.assertion("p256-app")).status == 200)
    }

    @Test func issuerCanBeSetOnlyOnce() throws {
        let fixture = try F()
        #expect(throws: DevIssuerError.issuerAlreadySet(current: F.issuerURL)) {
            try fixture.issuer.setIssuer(URL(string: "http://127.0.0.1:1")!)
        }
    }

    @Test func refusesIssuerURLsThatAreNotPlainHTTPOrigins() throws {
        for url in ["ftp://127.0.0.1", "http://127.0.0.1:1/?x=1", "/relative"] {
            #expect(throws: DevIssuerError.self) {
                _ = try DevIssuer(issuer: URL(string: url)!, clients: [])
            }
        }
    }

    @Test func refusesDuplicateClientIDs() throws {
        let clients = Array(try F().issuer.clients.values)
        #expect(throws: DevIssuerError.duplicateClient(clients[0].clientID)) {
            _ = try DevIssuer(clients: [clients[0], clients[0]])
        }
    }

    @Test func unknownPathsAre404AndWrongMethods405() throws {
        let fixture = try F()
        #expect(try fixture.send("GET", "/nope").status == 404)
        let get = try fixture.send("GET", "/oauth/v2/token")
        #expect(get.status == 405)
        #expect(get.headers["Allow"] == "POST")
        #expect(try fixture.send("DELETE", "/oidc/v1/userinfo").headers["Allow"] == "GET, POST")
    }

    @Test func queryStringsDoNotChangeTheRoute() throws {
        let response = try F().send("GET", "/.well-known/openid-configuration?x=1")
        #expect(response.status == 200)
    }

    @Test func statsCountRequestsPerClientAndOutcome() throws {
        let fixture = try F()
        _ = try fixture.jwtBearer(try F.assertion("rsa-user"))
        _ = try fixture.jwtBearer(try F.assertion("rsa-user"))
        _ = try fixture.jwtBearer(try F.assertion("rsa-user", wrongKey: true))
        _ = try fixture.send("GET", "/oauth/v2/keys")
        let stats = fixture.issuer.stats
        #expect(stats.requests == 4)
        #expect(stats.issued(to: "rsa-user") == 2)
        #expect(stats.tokenRequests(clientID: "rsa-user", outcome: "invalid_grant") == 1)
        #expect(stats.metadataRequests == 1)
    }
}
