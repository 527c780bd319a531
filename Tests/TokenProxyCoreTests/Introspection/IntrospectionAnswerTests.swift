import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct IntrospectionAnswerTests {
    func parse(_ text: String) -> Result<IntrospectionAnswer, IntrospectionAnswer.ParseError> {
        IntrospectionAnswer.parse(Array(text.utf8))
    }

    @Test func parsesTheRFC7662Example() throws {
        // RFC 7662 §2.2's example response.
        let text = #"""
            {"active": true, "client_id": "l238j323ds-23ij4", "username": "jdoe",
             "scope": "read write dolphin", "sub": "Z5O3upPC88QrAjx00dis", "aud": "https://protected.example.net/resource",
             "iss": "https://server.example.com/", "exp": 1419356238, "iat": 1419350238, "extension_field": "twenty-seven"}
            """#
        let answer = try parse(text).get()
        #expect(answer.active)
        #expect(answer.scopes == ["read", "write", "dolphin"])
        #expect(answer.clientID == "l238j323ds-23ij4")
        #expect(answer.username == "jdoe")
        #expect(answer.subject == "Z5O3upPC88QrAjx00dis")
        #expect(answer.audience == ["https://protected.example.net/resource"])
        #expect(answer.issuer == "https://server.example.com/")
        #expect(answer.expiresAt == 1_419_356_238)
        #expect(answer.issuedAt == 1_419_350_238)
        #expect(answer.json == Array(text.utf8))
    }

    @Test func inactiveCarriesNothingElse() throws {
        let answer = try parse(#"{"active": false, "sub": "someone"}"#).get()
        #expect(answer == .inactive)
        #expect(String(decoding: answer.json, as: UTF8.self) == #"{"active":false}"#)
    }

    @Test func audienceArrayAndStringNumbers() throws {
        let answer = try parse(#"{"active": true, "aud": ["a", "b"], "exp": "1700000000"}"#).get()
        #expect(answer.audience == ["a", "b"])
        #expect(answer.expiresAt == 1_700_000_000)
    }

    @Test func refusesWhatIsNotAnAnswer() {
        #expect(throws: IntrospectionAnswer.ParseError.notJSONObject) { try parse("[]").get() }
        #expect(throws: IntrospectionAnswer.ParseError.missingActive) { try parse("{}").get() }
        // 1 is not true: a server that says "1" is not trusted to mean active.
        #expect(throws: IntrospectionAnswer.ParseError.missingActive) {
            try parse(#"{"active": 1}"#).get()
        }
        #expect(throws: IntrospectionAnswer.ParseError.missingActive) {
            try parse(#"{"active": "true"}"#).get()
        }
        #expect(throws: IntrospectionAnswer.ParseError.badMember("exp")) {
            try parse(#"{"active": true, "exp": true}"#).get()
        }
        #expect(throws: IntrospectionAnswer.ParseError.badMember("aud")) {
            try parse(#"{"active": true, "aud": [1]}"#).get()
        }
    }
}
