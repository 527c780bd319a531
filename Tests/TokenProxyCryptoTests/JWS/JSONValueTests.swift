import Testing

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct JSONValueTests {
    static func text(_ value: JSONValue) throws -> String {
        var out = ""
        try value.write(to: &out, claim: "c")
        return out
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() throws {
        #expect(try Self.text("a\"b\\c\n\t\u{01}\u{1F}") == #""a\"b\\c\n\t\u0001\u001f""#)
        #expect(try Self.text("é😀/") == "\"é😀/\"")
    }

    @Test func writesScalarsAndSortsObjectKeys() throws {
        #expect(try Self.text(.int(-42)) == "-42")
        #expect(try Self.text(.int(Int64.max)) == "9223372036854775807")
        #expect(try Self.text(.double(0.25)) == "0.25")
        #expect(try Self.text(.bool(false)) == "false")
        #expect(try Self.text(.null) == "null")
        #expect(try Self.text(["b": 1, "a": [], "c": [:]]) == #"{"a":[],"b":1,"c":{}}"#)
    }

    @Test func refusesNonFiniteNumbers() {
        for number in [Double.nan, .infinity, -.infinity] {
            #expect(TestSupport.error { try Self.text(.array([.double(number)])) } != nil)
        }
    }

    @Test func comparesByValue() {
        let a: JSONValue = ["x": [1, "y"]]
        #expect(a == .object(["x": .array([.int(1), .string("y")])]))
        #expect(a != .object(["x": .array([.int(2), .string("y")])]))
    }
}
