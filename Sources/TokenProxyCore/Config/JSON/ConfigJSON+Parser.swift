extension ConfigJSON {
    /// A JSON syntax error at a 1-based line and column (columns count Unicode scalars, so an
    /// editor's column matches for non-ASCII text).
    package struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        package var line: Int
        package var column: Int
        package var message: String

        package var description: String { "line \(line), column \(column): \(message)" }
    }

    /// Parses one JSON document (RFC 8259, strict: no comments, no trailing commas, no single
    /// quotes, no NaN). A leading UTF-8 byte order mark is skipped, as §8.1 allows.
    package static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> ConfigJSON {
        var parser = ConfigJSONParser(bytes: bytes)
        return try parser.parseDocument()
    }
}

/// A recursive-descent parser over bytes. Offsets are turned into line and column only when an
/// error is reported, so the happy path does no bookkeeping.
private struct ConfigJSONParser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0
    /// Offsets of every line feed, so a key's line is a binary search, not a rescan.
    let lineFeeds: [Int]

    init(bytes: [UInt8]) {
        self.bytes = bytes
        lineFeeds = bytes.indices.filter { bytes[$0] == 0x0A }
    }

    mutating func parseDocument() throws(ConfigJSON.SyntaxError) -> ConfigJSON {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        skipWhitespace()
        if index == bytes.count { throw error("the file is empty; expected a JSON object") }
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count {
            throw error("unexpected \(found()) after the end of the JSON document")
        }
        return value
    }

    mutating func parseValue() throws(ConfigJSON.SyntaxError) -> ConfigJSON {
        guard index < bytes.count else { throw error("unexpected end of file; expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "'"): throw error("strings must be in double quotes, not single quotes")
        case UInt8(ascii: "/"): throw error("comments are not allowed in JSON")
        default: throw error("unexpected \(found()); expected a value")
        }
    }

    mutating func parseObject() throws(ConfigJSON.SyntaxError) -> ConfigJSON {
        try enterContainer()
        var members: [ConfigJSON.Member] = []
        skipWhitespace()
        if consume("}") {
            depth -= 1
            return .object([])
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                if index < bytes.count, bytes[index] == UInt8(ascii: "}"), !members.isEmpty {
                    throw error("trailing comma before '}' is not allowed in JSON")
                }
                throw error("expected a key in double quotes, found \(found())")
            }
            let line = location(of: index).line
            let key = try parseString()
            skipWhitespace()
            guard consume(":") else {
                throw error("expected ':' after the key \"\(key)\", found \(found())")
            }
            skipWhitespace()
            members.append(.init(key: key, value: try parseValue(), line: line))
            skipWhitespace()
            if consume(",") { continue }
            if consume("}") { break }
            throw error("expected ',' or '}' after the value of \"\(key)\", found \(found())")
        }
        depth -= 1
        return .object(members)
    }

    mutating func parseArray() throws(ConfigJSON.SyntaxError) -> ConfigJSON {
        try enterContainer()
        var values: [ConfigJSON] = []
        skipWhitespace()
        if consume("]") {
            depth -= 1
            return .array([])
        }
        while true {
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                throw error("trailing comma before ']' is not allowed in JSON")
            }
            values.append(try parseValue())
            skipWhitespace()
            if consume(",") { continue }
            if consume("]") { break }
            throw error("expected ',' or ']' after an array element, found \(found())")
        }
        depth -= 1
        return .array(values)
    }

    mutating func enterContainer() throws(ConfigJSON.SyntaxError) {
        depth += 1
        if depth > Limits.Config.maxJSONDepth {
            throw error("nested deeper than \(Limits.Config.maxJSONDepth) levels")
        }
        index += 1
    }

    mutating func parseString() throws(ConfigJSON.SyntaxError) -> String {
        let start = index
        index += 1
        var utf8: [UInt8] = []
        while true {
            guard index < bytes.count else {
                index = start
                throw error("string is not terminated; add the closing '\"'")
            }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let string = String(validating: utf8, as: UTF8.self) else {
                    index = start
                    throw error("string is not valid UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0..<0x20:
                throw error(
                    "control character \(found()) in a string; write it as an escape like \\n")
            default:
                utf8.append(byte)
                index += 1
            }
        }
    }

    /// Escapes of RFC 8259 §7, including UTF-16 surrogate pairs; a lone surrogate is an error
    /// because it cannot become a Swift `String`.
    mutating func parseEscape(into utf8: inout [UInt8]) throws(ConfigJSON.SyntaxError) {
        index += 1
        guard index < bytes.count else { throw error("unexpected end of file in an escape") }
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F,
            UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A,
            UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
        ]
        if let replacement = simple[bytes[index]] {
            utf8.append(replacement)
            index += 1
            return
        }
        guard bytes[index] == UInt8(ascii: "u") else {
            throw error("invalid escape '\\\(found(quoted: false))' in a string")
        }
        index -= 1
        var scalarValue = try parseHexEscape()
        if (0xD800..<0xDC00).contains(scalarValue) {
            let high = scalarValue
            guard bytes[index...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]),
                case let low = try parseHexEscape(), (0xDC00..<0xE000).contains(low)
            else { throw error("unpaired UTF-16 surrogate in a \\u escape") }
            scalarValue = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(scalarValue) else {
            throw error("unpaired UTF-16 surrogate in a \\u escape")
        }
        utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    /// Parses `\uXXXX` starting at the backslash.
    mutating func parseHexEscape() throws(ConfigJSON.SyntaxError) -> UInt32 {
        index += 2
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard index + offset < bytes.count, let digit = ASCIIHex.value(bytes[index + offset])
            else { throw error("\\u must be followed by four hexadecimal digits") }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }

    mutating func parseNumber() throws(ConfigJSON.SyntaxError) -> ConfigJSON {
        let start = index
        func digits(_ parser: inout ConfigJSONParser) -> Int {
            let from = parser.index
            while parser.index < parser.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index])
            {
                parser.index += 1
            }
            return parser.index - from
        }
        _ = consume("-")
        if consume("0") {
            if digits(&self) > 0 { throw error("numbers must not have leading zeros", at: start) }
        } else if digits(&self) == 0 {
            throw error("expected a digit, found \(found())")
        }
        if consume("."), digits(&self) == 0 {
            throw error("expected a digit after the decimal point, found \(found())")
        }
        if consume("e") || consume("E") {
            if !consume("+") { _ = consume("-") }
            if digits(&self) == 0 {
                throw error("expected a digit in the exponent, found \(found())")
            }
        }
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)),
            value.isFinite
        else { throw error("number is out of range", at: start) }
        return .number(value)
    }

    mutating func parseLiteral(_ word: String, _ value: ConfigJSON) throws(ConfigJSON.SyntaxError)
        -> ConfigJSON
    {
        guard bytes[index...].starts(with: word.utf8) else {
            throw error("unexpected \(found()); expected a value (strings need double quotes)")
        }
        index += word.utf8.count
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func consume(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
        index += 1
        return true
    }

    /// Names the byte at the current offset for a message: `'x'`, `byte 0x07`, or end of file.
    func found(quoted: Bool = true) -> String {
        guard index < bytes.count else { return "end of file" }
        let byte = bytes[index]
        if byte == 0x20 { return "' '" }
        guard (0x21..<0x7F).contains(byte) else {
            return "byte 0x" + String(byte, radix: 16, uppercase: true)
        }
        let character = String(UnicodeScalar(byte))
        return quoted ? "'\(character)'" : character
    }

    func error(_ message: String, at offset: Int? = nil) -> ConfigJSON.SyntaxError {
        let (line, column) = location(of: offset ?? index)
        return .init(line: line, column: column, message: message)
    }

    /// 1-based line and column of a byte offset; continuation bytes of UTF-8 (10xxxxxx) do not
    /// start a new column.
    func location(of offset: Int) -> (line: Int, column: Int) {
        var low = 0
        var high = lineFeeds.count
        while low < high {
            let middle = (low + high) / 2
            if lineFeeds[middle] < offset { low = middle + 1 } else { high = middle }
        }
        let lineStart = low == 0 ? 0 : lineFeeds[low - 1] + 1
        let column = bytes[lineStart..<min(offset, bytes.count)].count { $0 & 0xC0 != 0x80 }
        return (low + 1, column + 1)
    }
}
