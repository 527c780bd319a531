import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigJSONTests {
    func parse(_ text: String) throws -> ConfigJSON { try ConfigJSON.parse(Array(text.utf8)) }

    func syntaxError(_ text: String) -> ConfigJSON.SyntaxError? {
        do {
            _ = try ConfigJSON.parse(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#"{"a": [1, -2.5e1, true, false, null, "x"], "b": {}}"#)
        #expect(
            value
                == .object([
                    .init(
                        key: "a",
                        value: .array([
                            .number(1), .number(-25), .bool(true), .bool(false), .null,
                            .string("x"),
                        ])),
                    .init(key: "b", value: .object([])),
                ]))
    }

    @Test func keepsMembersInFileOrderWithDuplicatesAndLines() throws {
        guard case .object(let members) = try parse("{\n\"z\": 1,\n\"a\": 2,\n\"z\": 3}") else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["z", "a", "z"])
        #expect(members.map(\.line) == [2, 3, 4])
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(
            try parse(#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#)
                == .string("a\"\\/\u{8}\u{c}\n\r\té😀"))
    }

    @Test func rejectsLoneSurrogate() {
        #expect(syntaxError(#""\ud83d x""#)?.message.contains("surrogate") == true)
    }

    @Test func reportsLineAndColumnOfAMissingComma() {
        let error = syntaxError("{\n  \"a\": 1\n  \"b\": 2\n}")
        #expect(error?.line == 3)
        #expect(error?.column == 3)
        #expect(error?.message == "expected ',' or '}' after the value of \"a\", found '\"'")
    }

    @Test func countsColumnsInCharactersNotBytes() {
        let error = syntaxError(#"{"é": x}"#)
        #expect(error?.line == 1)
        #expect(error?.column == 7)
    }

    @Test func explainsTrailingCommasCommentsAndSingleQuotes() {
        #expect(
            syntaxError(#"{"a": 1,}"#)?.message
                == "trailing comma before '}' is not allowed in JSON")
        #expect(syntaxError("[1,]")?.message == "trailing comma before ']' is not allowed in JSON")
        #expect(syntaxError("{\"a\": // note\n1}")?.message == "comments are not allowed in JSON")
        #expect(
            syntaxError("{\"a\": 'x'}")?.message
                == "strings must be in double quotes, not single quotes")
    }

    @Test func rejectsMalformedNumbers() {
        #expect(syntaxError("01")?.message == "numbers must not have leading zeros")
        #expect(
            syntaxError("1.")?.message.hasPrefix("expected a digit after the decimal point") == true
        )
        #expect(syntaxError("1e")?.message.hasPrefix("expected a digit in the exponent") == true)
        #expect(syntaxError("1e999")?.message == "number is out of range")
        #expect(syntaxError("-")?.message.hasPrefix("expected a digit") == true)
    }

    @Test func rejectsUnterminatedStringAtItsStart() {
        let error = syntaxError("{\"a\": \"abc")
        #expect(error?.column == 7)
        #expect(error?.message.hasPrefix("string is not terminated") == true)
    }

    @Test func rejectsControlCharactersAndInvalidUTF8() {
        #expect(syntaxError("\"a\u{1}\"")?.message.hasPrefix("control character byte 0x1") == true)
        #expect(
            syntaxError("\"\u{FF}\"") == nil && (try? ConfigJSON.parse([0x22, 0xFF, 0x22])) == nil)
    }

    @Test func rejectsEmptyDocumentAndTrailingContent() {
        #expect(syntaxError("  ")?.message == "the file is empty; expected a JSON object")
        #expect(
            syntaxError("{} {}")?.message == "unexpected '{' after the end of the JSON document")
        #expect(syntaxError("{")?.message == "expected a key in double quotes, found end of file")
    }

    @Test func skipsByteOrderMark() throws {
        #expect(try ConfigJSON.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8)) == .object([]))
    }

    @Test func refusesNestingBeyondTheLimit() {
        let deep = String(repeating: "[", count: Limits.Config.maxJSONDepth + 1)
        #expect(syntaxError(deep)?.message.hasPrefix("nested deeper than") == true)
        let allowed =
            String(repeating: "[", count: Limits.Config.maxJSONDepth)
            + String(repeating: "]", count: Limits.Config.maxJSONDepth)
        #expect(syntaxError(allowed) == nil)
    }

    @Test func describesValuesCompactly() throws {
        #expect(try parse(#"{"a": [7200, 1.5, "x"]}"#).description == #"{"a": [7200, 1.5, "x"]}"#)
    }
}
