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

@Suite(.timeLimit(.minutes(1)))
struct JSONObjectMembersNumberTests {
    private func members(_ text: String) throws -> JSONObjectMembers {
        try #require(JSONObjectMembers(Array(text.utf8)))
    }

    /// As `NSNumber.int64Value` did for the code this replaced: a fraction is cut.
    @Test func cutsAFraction() throws {
        let object = try members(#"{"a":1.9,"b":-1.9,"c":1700000000}"#)
        #expect(object.int64("a") == 1)
        #expect(object.int64("b") == -1)
        #expect(object.int64("c") == 1_700_000_000)
    }

    /// A number outside Int64 is refused, not clamped or wrapped.
    @Test func refusesHugeNumbers() throws {
        let object = try members(#"{"a":1e19,"b":-1e19,"c":9223372036854775808}"#)
        #expect(object.int64("a") == nil)
        #expect(object.int64("b") == nil)
        #expect(object.int64("c") == nil)
        #expect(JSONObjectMembers.truncatedInt64(-0x1p63) == Int64.min)
    }

    @Test func tellsBooleansFromNumbers() throws {
        let object = try members(#"{"t":true,"one":1,"s":"true"}"#)
        #expect(object.bool("t") == true)
        #expect(object.bool("one") == nil)
        #expect(object.bool("s") == nil)
        #expect(object.int64("t") == nil)
        #expect(object.number("one") == 1)
    }
}
