import Foundation
import Testing
import TokenProxyCore

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct KeyFileLoaderTests {
    /// A base64 line from inside a PEM body, to prove error messages carry no key bytes.
    static func bodyLine(_ pem: String) -> String {
        pem.split(separator: "\n").dropFirst().first { !$0.contains(":") && $0.count > 20 }.map(
            String.init)!
    }

    static func serviceAccount(_ pem: String) -> String {
        TestSupport.zitadelJSON([
            ("type", "serviceaccount"), ("keyId", "123456789"), ("key", pem),
            ("expirationDate", "9999-12-31T23:59:59Z"), ("userId", "2233445566"),
        ])
    }

    static func parse(_ text: String, options: KeyLoadOptions = KeyLoadOptions()) throws
        -> ServiceKey
    {
        var bytes = TestSupport.bytes(text)
        return try KeyFileLoader.parse(&bytes, origin: "/etc/tokenproxy/key.json", options: options)
    }

    @Test(arguments: KeyFixture.all)
    func loadsZitadelServiceAccountKeysOfEveryFormat(_ fixture: KeyFixture) throws {
        let key = try Self.parse(Self.serviceAccount(fixture.pem))
        #expect(key.source == .zitadelServiceAccount(userID: "2233445566"))
        #expect(key.keyID == "123456789")
        #expect(key.clientID == "2233445566")
        #expect(key.privateKey.type == fixture.type)
        for algorithm in JWSAlgorithm.allCases where key.privateKey.supports(algorithm) {
            let signature = try key.privateKey.sign([1, 2, 3], algorithm: algorithm)
            #expect(
                try key.privateKey.verify(
                    signature: signature, message: [1, 2, 3], algorithm: algorithm))
        }
    }

    @Test(arguments: KeyFixture.all)
    func loadsZitadelApplicationKeysOfEveryFormat(_ fixture: KeyFixture) throws {
        let json = TestSupport.zitadelJSON([
            ("type", "application"), ("keyId", "kid-1"), ("key", fixture.pem), ("appId", "app-7"),
            ("clientId", "client-7@project"),
        ])
        let key = try Self.parse(json)
        #expect(key.source == .zitadelApplication(appID: "app-7", clientID: "client-7@project"))
        #expect(key.clientID == "client-7@project")
        #expect(key.keyID == "kid-1")
        let signer = try AssertionSigner(key: key)
        #expect(signer.algorithm == key.privateKey.defaultAlgorithm)
    }

    @Test func explicitOptionsOverrideTheFileIdentity() throws {
        let options = KeyLoadOptions(clientID: "override-client", keyID: "override-kid")
        let key = try Self.parse(Self.serviceAccount(TestKeys.ecP256SEC1), options: options)
        #expect(key.clientID == "override-client" && key.keyID == "override-kid")
        #expect(key.source == .zitadelServiceAccount(userID: "2233445566"))
    }

    @Test func ignoresUnknownFieldsOfAnyTypeAndDecodesEscapes() throws {
        // The PEM is written with "\/" and "\u000a" escapes, which a ZITADEL-compatible
        // writer may use.
        let escaped = TestKeys.ed25519PKCS8.replacingOccurrences(of: "/", with: "\\/")
            .replacingOccurrences(of: "\n", with: "\\u000a")
        let json = """
             {"type":"serviceaccount","keyId":"k","extra":{"a":[1,-2.5e3,true,false,null,{"b":"\\""}]},
              "key":"\(escaped)","userId":"u\\u00e9\\ud83d\\ude00","n":0}

            """
        let key = try Self.parse(json)
        #expect(key.privateKey.type == .ed25519)
        #expect(key.clientID == "u\u{e9}\u{1F600}")
    }

    @Test func pemFilesNeedAClientID() throws {
        let error = TestSupport.error {
            var bytes = TestSupport.bytes(TestKeys.rsa2048PKCS1)
            return try KeyFileLoader.parse(
                &bytes, origin: "/keys/svc.pem", options: KeyLoadOptions())
        }
        #expect(
            error?.description
                == "/keys/svc.pem is a PEM key: pass the client id (--client-id / client_id)")
        var bytes = TestSupport.bytes(TestKeys.ecP384PKCS8)
        let key = try KeyFileLoader.parse(
            &bytes, origin: "/keys/svc.pem", options: KeyLoadOptions(clientID: "svc"))
        #expect(key.source == .pem && key.clientID == "svc" && key.keyID == nil)
    }

    @Test(arguments: ["json", "pem", "broken json", "broken pem"])
    func parseZeroesTheInputBuffer(_ kind: String) {
        let text: String
        switch kind {
        case "json": text = Self.serviceAccount(TestKeys.rsa2048PKCS1)
        case "pem": text = TestKeys.ecP256SEC1
        case "broken json": text = "{\"type\":\"serviceaccount\",\"key\":\"" + TestKeys.ecP256SEC1
        default: text = String(TestKeys.ecP256SEC1.dropLast(30))
        }
        var bytes = TestSupport.bytes(text)
        let count = bytes.count
        _ = try? KeyFileLoader.parse(&bytes, origin: "mem", options: KeyLoadOptions(clientID: "c"))
        #expect(bytes.count == count)
        #expect(bytes.allSatisfy { $0 == 0 })
    }

    @Test(arguments: [
        ("truncated", "{\"type\":\"serviceaccount\",\"key\":\"-----BEGIN"),
        ("trailing comma", "{\"type\":\"serviceaccount\",}"),
        ("trailing content", "{\"type\":\"serviceaccount\"} x"),
        ("bad escape", "{\"key\":\"\\q\"}"),
        ("raw newline", "{\"key\":\"a\nb\"}"),
        ("lone surrogate", "{\"key\":\"\\ud800\"}"),
        ("bad number", "{\"n\":01}"),
        ("single quotes", "{'type':'serviceaccount'}"),
    ])
    func malformedJSONIsRefusedWithAnOffset(_ name: String, _ text: String) throws {
        let error = try #require(TestSupport.error { try Self.parse(text) })
        guard case .malformedKeyJSON = error else {
            Issue.record("\(name): \(error)")
            return
        }
        #expect(error.description.contains("/etc/tokenproxy/key.json"))
        #expect(error.description.contains("byte") || error.description.contains("end of the file"))
    }

    @Test func malformedJSONErrorsCarryNoKeyBytes() throws {
        let pem = TestKeys.rsa2048PKCS1
        let broken = String(Self.serviceAccount(pem).dropLast(2))
        let error = try #require(TestSupport.error { try Self.parse(broken) })
        #expect(!error.description.contains(Self.bodyLine(pem)))
        #expect(!error.description.contains("MII"))
    }

    @Test(arguments: [
        ("key", "{\"type\":\"serviceaccount\",\"keyId\":\"k\",\"userId\":\"u\"}", "is missing"),
        ("userId", "{\"type\":\"serviceaccount\",\"keyId\":\"k\",\"key\":\"PEM\"}", "is missing"),
        (
            "clientId",
            "{\"type\":\"application\",\"keyId\":\"k\",\"key\":\"PEM\",\"appId\":\"a\"}",
            "is missing"
        ),
        ("keyId", "{\"type\":\"serviceaccount\",\"key\":\"PEM\",\"userId\":\"u\"}", "is missing"),
        ("type", "{\"keyId\":\"k\",\"key\":\"PEM\",\"userId\":\"u\"}", "is missing"),
        (
            "userId", "{\"type\":\"serviceaccount\",\"keyId\":\"k\",\"key\":\"PEM\",\"userId\":42}",
            "found a number"
        ),
        (
            "key",
            "{\"type\":\"serviceaccount\",\"keyId\":\"k\",\"key\":[\"PEM\"],\"userId\":\"u\"}",
            "found an array"
        ),
        (
            "userId",
            "{\"type\":\"serviceaccount\",\"keyId\":\"k\",\"key\":\"PEM\",\"userId\":\"\"}",
            "is empty"
        ),
        (
            "keyId",
            "{\"type\":\"serviceaccount\",\"keyId\":\"k\",\"keyId\":\"j\",\"key\":\"PEM\",\"userId\":\"u\"}",
            "more than once"
        ),
    ])
    func fieldErrorsNameTheFieldAndCarryNoKeyBytes(
        _ field: String, _ template: String, _ problem: String
    ) throws {
        let pem = TestKeys.ecP521PKCS8
        var escaped = ""
        JSONValue.writeString(pem, to: &escaped)
        let json = template.replacingOccurrences(of: "\"PEM\"", with: escaped)
        let error = try #require(TestSupport.error { try Self.parse(json) })
        #expect(error.description.contains("field '\(field)'"), "\(error)")
        #expect(error.description.contains(problem), "\(error)")
        #expect(error.description.contains("/etc/tokenproxy/key.json"))
        #expect(!error.description.contains(Self.bodyLine(pem)))
    }

    @Test func unknownTypeIsNamed() throws {
        let json = TestSupport.zitadelJSON([
            ("type", "user"), ("keyId", "k"), ("key", "x"), ("userId", "u"),
        ])
        let error = try #require(TestSupport.error { try Self.parse(json) })
        #expect(
            error.description.contains("'user'") && error.description.contains("serviceaccount"))
    }

    @Test func badPEMInsideJSONNamesTheField() throws {
        let json = Self.serviceAccount(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        let error = try #require(TestSupport.error { try Self.parse(json) })
        #expect(error.description.contains("key JSON field 'key' in /etc/tokenproxy/key.json"))
    }

    @Test func refusesKeyFilesOthersCanReadLikeSSH() throws {
        let dir = try TestSupport.makeTempDir()
        defer { TestSupport.cleanup(dir) }
        let path = try TestSupport.writeFile(
            dir, "key.json", Self.serviceAccount(TestKeys.ecP256SEC1), mode: 0o644)
        let error = try #require(
            TestSupport.error { try KeyFileLoader.load(path: path, options: KeyLoadOptions()) })
        #expect(error.description.contains("chmod 600 \(path)"))
        let group = try TestSupport.writeFile(
            dir, "group.json", Self.serviceAccount(TestKeys.ecP256SEC1), mode: 0o640)
        #expect(
            TestSupport.error { try KeyFileLoader.load(path: group, options: KeyLoadOptions()) }
                != nil)
        let allowed = try KeyFileLoader.load(
            path: path, options: KeyLoadOptions(allowInsecurePermissions: true))
        #expect(allowed.clientID == "2233445566")
    }

    @Test func loadsPrivateKeyFiles() throws {
        let dir = try TestSupport.makeTempDir()
        defer { TestSupport.cleanup(dir) }
        let json = try TestSupport.writeFile(
            dir, "key.json", Self.serviceAccount(TestKeys.rsa3072PKCS8), mode: 0o600)
        #expect(
            try KeyFileLoader.load(path: json, options: KeyLoadOptions()).privateKey.type
                == .rsa(bits: 3072))
        let pem = try TestSupport.writeFile(dir, "key.pem", TestKeys.ed25519PKCS8, mode: 0o400)
        let key = try KeyFileLoader.load(
            path: pem, options: KeyLoadOptions(clientID: "c", keyID: "k"))
        #expect(key.privateKey.type == .ed25519 && key.keyID == "k")
    }

    @Test func refusesMissingDirectoriesAndHugeFiles() throws {
        let dir = try TestSupport.makeTempDir()
        defer { TestSupport.cleanup(dir) }
        let missing = try #require(
            TestSupport.error {
                try KeyFileLoader.load(path: dir + "/nope", options: KeyLoadOptions())
            })
        #expect(
            missing.description.contains(dir + "/nope")
                && missing.description.contains("No such file"))
        let directory = try #require(
            TestSupport.error { try KeyFileLoader.load(path: dir, options: KeyLoadOptions()) })
        #expect(directory.description.contains("not a regular file"))
        let big = try TestSupport.writeFile(
            dir, "big", String(repeating: " ", count: 70_000), mode: 0o600)
        let huge = try #require(
            TestSupport.error { try KeyFileLoader.load(path: big, options: KeyLoadOptions()) })
        #expect(huge.description.contains("larger than"))
    }
}
