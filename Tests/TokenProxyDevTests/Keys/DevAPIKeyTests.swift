import Foundation
import Testing
import TokenProxyCrypto

@testable import TokenProxyDev

/// The dev API's application key: a ZITADEL `application` key JSON, private, registered to
/// introspect and for no grant.
@Suite(.timeLimit(.minutes(1)))
struct DevAPIKeyTests {
    @Test func writesAnApplicationKeyThatLoadsWithItsIdentity() throws {
        let directory = NSTemporaryDirectory() + "devapikey-\(UUID().uuidString)"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = try DevAPIKey.generate(in: directory)
        #expect(key.path == directory + "/throwaway-dev-api-app.json")
        let attributes = try FileManager.default.attributesOfItem(atPath: key.path)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        let loaded = try KeyFileLoader.load(path: key.path, options: .init())
        #expect(loaded.source == .zitadelApplication(appID: "dev-api-app", clientID: "dev-api"))
        #expect(loaded.keyID == key.client.keyID)
        #expect(key.client.clientID == "dev-api" && key.client.grants.isEmpty)
        #expect(throws: DevKeysError.fileExists(path: key.path)) {
            try DevAPIKey.generate(in: directory)
        }
    }
}
