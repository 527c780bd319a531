import Testing
import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct JSONObjectMembersTests {
    private func members(_ text: String) -> JSONObjectMembers? {
        JSONObjectMembers(Array(text.utf8))
    }

    /// As `JSONSerialization` did: the last of a duplicated name counts (RFC 7515 §5.2).
    @Test func keepsTheLastOfADuplicatedName() {
        let header = members(#"{"alg":"none","kid":"a","alg":"RS256"}"#)
        #expect(header?.string("alg") == "RS256")
        #expect(header?.string("kid") == "a")
    }

    @Test func refusesWhatIsNotOneObject() {
        for text in ["[]", "\"x\"", "1", "null", "{\"a\":1} {}", "{\"a\":1,}", ""] {
            #expect(members(text) == nil, "\(text)")
        }
    }

    /// A member that is null or not a string is present but has no string value.
    @Test func tellsNullAndOtherKindsApart() throws {
        let object = try #require(members(#"{"crit":null,"n":1,"s":"x"}"#))
        #expect(object["crit"] == .null)
        #expect(object["missing"] == nil)
        #expect(object.string("n") == nil)
        #expect(object.string("s") == "x")
    }
}
