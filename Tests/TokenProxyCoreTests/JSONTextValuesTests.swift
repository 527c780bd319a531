import Foundation
import Testing

@testable import TokenProxyCore

/// `JSONText.sortedKeys` replaced `JSONSerialization.data(withJSONObject:options:
/// [.sortedKeys, .withoutEscapingSlashes])` for JWT claims, the CLI's token JSON and the dev
/// issuer: the bytes must stay the same.
@Suite(.timeLimit(.minutes(1)))
struct JSONTextValuesTests {
    private func sorted(_ text: String) throws -> String {
        JSONText.sortedKeys(try ConfigJSON.parse(Array(text.utf8)))
    }

    private func foundation(_ text: String) throws -> String {
        let object = try JSONSerialization.jsonObject(
            with: Data(text.utf8), options: [.fragmentsAllowed])
        let data = try JSONSerialization.data(
            withJSONObject: object,
            options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    /// What JWT payloads and token responses hold: the same bytes as JSONSerialization wrote.
    @Test(arguments: [
        #"{"sub":"svc","iss":"https://idp.example/realms/a","aud":["api","other"],"exp":1700000000,"iat":1699990000}"#,
        #"{"b":{"z":1,"a":[true,false,null]},"a":"x/y","c":-12,"d":0}"#,
        #"{"scope":"read write","client_id":"c\"q\\","n":"grüß 🔑","t":"tab\there"}"#,
        #"{"nested":{"deep":{"k":"v","a":[{"y":2,"x":1}]}},"empty":{},"list":[]}"#,
        #"{"ctl":"\u0001\u001f","nl":"a\nb"}"#,
        #"{"big":9007199254740991,"neg":-9007199254740991}"#,
    ])
    func matchesJSONSerialization(_ text: String) throws {
        #expect(try sorted(text) == foundation(text))
    }

    @Test func keepsTheLastOfADuplicatedName() throws {
        #expect(try sorted(#"{"a":1,"b":2,"a":3}"#) == #"{"a":3,"b":2}"#)
    }

    @Test func writesWholeNumbersWithoutAFraction() {
        #expect(JSONText.number(1_700_000_000) == "1700000000")
        #expect(JSONText.number(-3) == "-3")
        #expect(JSONText.number(1.5) == "1.5")
        #expect(JSONText.number(0x1p53) == "9007199254740992")
        #expect(JSONText.number(0x1p63) == "9.223372036854776e+18")
        #expect(JSONText.number(1e100) == "1e+100")
    }

    @Test func leavesSlashesUnescaped() throws {
        #expect(try sorted(#"{"u":"https:\/\/x/y"}"#) == #"{"u":"https://x/y"}"#)
    }
}
