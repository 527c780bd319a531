import Foundation
import Testing
import TokenProxyCore
import TokenProxyCrypto

@testable import TokenProxy
@testable import TokenProxyDev

@Suite(.timeLimit(.minutes(1)))
struct DevKeysTests {
    /// A fresh private directory (mkdtemp) for one test.
    private func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "devkeys-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        return try #require(made)
    }

    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int)
    }

    @Test func writesBothThrowawayKeysPrivately() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keys = try DevKeys.generate(in: directory)
        #expect(keys.serviceUserKeyPath == directory + "/throwaway-dev-service-user.json")
        #expect(keys.gatewayKeyPath == directory + "/throwaway-dev-gateway.pem")
        #expect(try mode(keys.serviceUserKeyPath) == 0o600)
        #expect(try mode(keys.gatewayKeyPath) == 0o600)
        let json = try String(contentsOfFile: keys.serviceUserKeyPath, encoding: .utf8)
        #expect(json.contains("THROWAWAY"))
        #expect(
            try String(contentsOfFile: keys.gatewayKeyPath, encoding: .utf8).hasPrefix(
                "# THROWAWAY"))
    }

    @Test func keyFilesLoadWithTheRegisteredIdentities() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keys = try DevKeys.generate(in: directory)
        let serviceUser = try KeyFileLoader.load(path: keys.serviceUserKeyPath, options: .init())
        #expect(serviceUser.source == .zitadelServiceAccount(userID: "dev-service-user"))
        #expect(serviceUser.keyID == keys.serviceUserKeyID)
        #expect(serviceUser.privateKey.type == .rsa(bits: 2048))
        let gateway = try KeyFileLoader.load(
            path: keys.gatewayKeyPath, options: .init(clientID: DevKeys.gatewayClientID))
        #expect(gateway.privateKey.type == .ec(.p256))
        #expect(keys.clients.map(\.clientID) == ["dev-service-user", "dev-gateway"])
    }

    @Test func generatedKeysGetTokensFromTheDevIssuer() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keys = try DevKeys.generate(in: directory)
        let now = DevIssuerFixture.now
        let fixture = DevIssuerFixture(
            issuer: try DevIssuer(
                issuer: URL(string: DevIssuerFixture.issuerURL), clients: keys.clients,
                now: { now }))
        func assertion(_ key: ServiceKey) throws -> String {
            try AssertionSigner(key: key).makeAssertion(
                audience: [DevIssuerFixture.issuerURL], lifetime: .seconds(60), skew: .seconds(10),
                now: now
            ).value
        }
        let serviceUser = try KeyFileLoader.load(path: keys.serviceUserKeyPath, options: .init())
        #expect(try fixture.jwtBearer(try assertion(serviceUser)).status == 200)
        let gateway = try KeyFileLoader.load(
            path: keys.gatewayKeyPath, options: .init(clientID: DevKeys.gatewayClientID))
        #expect(
            try fixture.clientCredentials(try assertion(gateway), clientID: "dev-gateway").status
                == 200)
        // Each key is registered only for the grant its real-world counterpart uses.
        #expect(try fixture.clientCredentials(try assertion(serviceUser)).status == 400)
    }

    @Test func neverOverwritesExistingFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gatewayPath = directory + "/" + DevKeys.gatewayFileName
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: gatewayPath))
        #expect(throws: DevKeysError.fileExists(path: gatewayPath)) {
            _ = try DevKeys.generate(in: directory)
        }
        // The service-user file written before the failure is removed again.
        #expect(
            !FileManager.default.fileExists(atPath: directory + "/" + DevKeys.serviceUserFileName))
        #expect(try String(contentsOfFile: gatewayPath, encoding: .utf8) == "keep me")
    }

    @Test func reportsAMissingDirectory() {
        #expect(throws: DevKeysError.self) {
            _ = try DevKeys.generate(in: "/nonexistent-\(UUID().uuidString)")
        }
    }
}
