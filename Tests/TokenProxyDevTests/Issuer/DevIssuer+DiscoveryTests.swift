import Foundation
import Testing
import TokenProxyCore

@testable import TokenProxy
@testable import TokenProxyDev

@Suite(.timeLimit(.minutes(1)))
struct DevIssuerDiscoveryTests {
    typealias F = DevIssuerFixture

    @Test func discoveryDocumentListsEndpointsAndMethods() throws {
        let response = try F().send("GET", "/.well-known/openid-configuration")
        #expect(response.status == 200)
        let body = try response.json()
        #expect(body["issuer"] as? String == F.issuerURL)
        #expect(body["token_endpoint"] as? String == F.tokenEndpoint)
        #expect(body["introspection_endpoint"] as? String == F.issuerURL + "/oauth/v2/introspect")
        #expect(body["userinfo_endpoint"] as? String == F.issuerURL + "/oidc/v1/userinfo")
        #expect(body["jwks_uri"] as? String == F.issuerURL + "/oauth/v2/keys")
        #expect(
            body["grant_types_supported"] as? [String]
                == ["urn:ietf:params:oauth:grant-type:jwt-bearer", "client_credentials"])
        #expect(body["token_endpoint_auth_methods_supported"] as? [String] == ["private_key_jwt"])
        let algorithms = try #require(
            body["token_endpoint_auth_signing_alg_values_supported"] as? [String])
        #expect(algorithms.count == 10)
        #expect(!algorithms.contains("none") && !algorithms.contains("HS256"))
    }

    @Test func discoveryDocumentDecodesAsProviderMetadata() throws {
        let response = try F().send("GET", "/.well-known/openid-configuration")
        let metadata = try JSONDecoder().decode(ProviderMetadata.self, from: Data(response.body))
        #expect(metadata.tokenEndpoint.absoluteString == F.tokenEndpoint)
    }

    @Test func trailingSlashOfTheIssuerURLIsDropped() throws {
        let fixture = try F(issuerURL: F.issuerURL + "/")
        #expect(fixture.issuer.issuer == F.issuerURL)
    }

    @Test func keysEndpointPublishesEveryClientKey() throws {
        let response = try F().send("GET", "/oauth/v2/keys")
        #expect(response.status == 200)
        let keys = try #require(try response.json()["keys"] as? [[String: String]])
        #expect(keys.count == 5)
        #expect(keys.contains { $0["kid"] == "rsa-kid" && $0["kty"] == "RSA" })
        #expect(keys.contains { $0["kid"] == "ed-app" && $0["crv"] == "Ed25519" })
        #expect(keys.allSatisfy { $0["d"] == nil })
    }
}
