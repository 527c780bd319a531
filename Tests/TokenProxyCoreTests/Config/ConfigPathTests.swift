import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigPathTests {
    @Test func rendersKeysAndIndexes() {
        let path = ConfigPath.root.appending("credentials").appending("gateway").appending("scopes")
            .appending(index: 2)
        #expect(path.description == "credentials.gateway.scopes[2]")
        #expect(ConfigPath.root.description == "")
    }

    @Test func quotesKeysThatAreNotPlainIdentifiers() {
        let path = ConfigPath.root.appending("credentials").appending("a.b").appending("grant")
        #expect(path.description == #"credentials["a.b"].grant"#)
        #expect(ConfigPath.root.appending(#"say "hi""#).description == #"["say \"hi\""]"#)
        #expect(ConfigPath.root.appending("$schema").description == "$schema")
    }
}
