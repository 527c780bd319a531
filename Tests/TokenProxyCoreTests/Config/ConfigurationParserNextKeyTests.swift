import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserNextKeyTests {
    typealias F = ConfigFixture

    @Test func parsesTheRotationsNewKey() throws {
        let json = F.withCredential(
            #""next_key": {"key_file": "credential:new-key", "key_id": "k2"}"#)
        let credential = try #require(try F.parse(json).credential(named: "a"))
        #expect(
            credential.nextKey
                == KeyReference(source: .systemdCredential(name: "new-key"), keyID: "k2"))
        #expect(
            try F.parse(F.withCredential(#""scopes": []"#)).credential(named: "a")?.nextKey == nil)
    }

    @Test func namesEachMistakeWithItsPath() {
        #expect(
            F.problems(F.withCredential(#""next_key": {"key_id": "k2"}"#)).first?.contains(
                "credentials.a.next_key.key_file") == true)
        #expect(
            F.problems(F.withCredential(#""next_key": {"key_file": "relative.json"}"#)).first?
                .contains("credentials.a.next_key.key_file") == true)
        #expect(
            F.problems(F.withCredential(#""next_key": {"key_file": "/etc/tokenproxy/a.json"}"#))
                .first?.contains("same file as key_file") == true)
        #expect(
            F.problems(F.withCredential(#""next_key": {"key_file": "/k", "kid": "x"}"#)).first?
                .contains("credentials.a.next_key.kid") == true)
    }
}
