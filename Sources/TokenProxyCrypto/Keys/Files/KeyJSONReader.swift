import TokenProxyCore

/// A small, strict JSON (RFC 8259) reader for ZITADEL key files.
///
/// `JSONDecoder` and `JSONSerialization` would turn the private key into `String`s that cannot
/// be wiped. This reader decodes only the string members named in `fields` of the top-level
/// object, each into its own `SecretBuffer`; everything else is validated and skipped without
/// being copied. Error messages give byte offsets, never content.
struct KeyJSONReader {

    private let input: UnsafeRawBufferPointer
    private let origin: String
    private var position = 0

    /// Reads the top-level object of `input` and returns the members named in `fields`.
    static func read(_ input: UnsafeRawBufferPointer, fields: Set<String>, origin: String) throws
        -> KeyJSONFields
    {
        var reader = KeyJSONReader(input: input, origin: origin)
        let result = KeyJSONFields(origin: origin)
        reader.skipWhitespace()
        guard reader.peek() == UInt8(ascii: "{") else {
            throw reader.malformed("the key file must contain a JSON object")
        }
        reader.position += 1
        reader.skipWhitespace()
        if reader.peek() == UInt8(ascii: "}") {
            reader.position += 1
        } else {
            while true {
                reader.skipWhitespace()
                guard reader.peek() == UInt8(ascii: "\"") else {
                    throw reader.malformed("expected a field name")
                }
                let name = try reader.readString()
                // Only known names become `String`s: an unknown name might be anything.
                let known = fields.first { name.equals($0) }
                reader.skipWhitespace()
                try reader.expect(UInt8(ascii: ":"), "expected ':' after a field name")
                reader.skipWhitespace()
                let valueStart = reader.position
                if let known {
                    if result.has(known) {
                        throw CryptoError.keyJSONField(
                            origin: origin, field: known, problem: "appears more than once")
                    }
                    if reader.peek() == UInt8(ascii: "\"") {
                        result.setString(known, try reader.readString())
                    } else {
                        try reader.skipValue(depth: 1)
                        result.setOther(known, kind: reader.kind(at: valueStart))
                    }
                } else {
                    try reader.skipValue(depth: 1)
                }
                reader.skipWhitespace()
                if reader.peek() == UInt8(ascii: ",") {
                    reader.position += 1
                    continue
                }
                try reader.expect(UInt8(ascii: "}"), "expected ',' or '}' after a field")
                break
            }
        }
        reader.skipWhitespace()
        guard reader.position == input.count else {
            throw reader.malformed("unexpected content after the JSON object")
        }
        return result
    }

    // MARK: - Scanning

    private func peek() -> UInt8? {
        position < input.count ? input[position] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), Self.isWhitespace(byte) { position += 1 }
    }

    /// RFC 8259 §2: space, tab, line feed, carriage return.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private mutating func expect(_ byte: UInt8, _ problem: String) throws {
        guard peek() == byte else { throw malformed(problem) }
        position += 1
    }

    private func malformed(_ problem: String) -> CryptoError {
        let place = position < input.count ? "at byte \(position)" : "at the end of the file"
        return .malformedKeyJSON(origin: origin, detail: "\(problem) \(place)")
    }

    /// What kind of JSON value starts at `offset`, for "must be a string, found …" messages.
    private func kind(at offset: Int) -> String {
        switch input[offset] {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        default: return "a number"
        }
    }

    /// Validates and skips one value of any type.
    private mutating func skipValue(depth: Int) throws {
        guard depth <= Limits.KeyFile.maxJSONDepth else {
            throw malformed("nesting deeper than \(Limits.KeyFile.maxJSONDepth) levels")
        }
        guard let byte = peek() else { throw malformed("expected a value") }
        switch byte {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "{"):
            try skipContainer(close: UInt8(ascii: "}"), depth: depth, members: true)
        case UInt8(ascii: "["):
            try skipContainer(close: UInt8(ascii: "]"), depth: depth, members: false)
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw malformed("expected a value")
        }
    }

    private mutating func skipContainer(close: UInt8, depth: Int, members: Bool) throws {
        position += 1
        skipWhitespace()
        if peek() == close {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            if members {
                guard peek() == UInt8(ascii: "\"") else { throw malformed("expected a field name") }
                try skipString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "expected ':' after a field name")
                skipWhitespace()
            }
            try skipValue(depth: depth + 1)
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(close, members ? "expected ',' or '}'" : "expected ',' or ']'")
            return
        }
    }

    private mutating func skipLiteral(_ literal: String) throws {
        for expected in literal.utf8 {
            guard peek() == expected else { throw malformed("invalid literal") }
            position += 1
        }
    }

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func skipNumber() throws {
        if peek() == UInt8(ascii: "-") { position += 1 }
        if peek() == UInt8(ascii: "0") {
            position += 1
        } else {
            guard try skipDigits() > 0 else { throw malformed("invalid number") }
        }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard try skipDigits() > 0 else { throw malformed("invalid number") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard try skipDigits() > 0 else { throw malformed("invalid number") }
        }
    }

    private mutating func skipDigits() throws -> Int {
        var count = 0
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            position += 1
            count += 1
        }
        return count
    }
}

extension KeyJSONReader {
    /// Finds the end of the string starting at `position` (the opening quote) and validates it:
    /// no raw control characters (RFC 8259 §7), only the defined escapes. Returns the offset
    /// of the closing quote.
    private func scanString() throws -> Int {
        var cursor = position + 1
        while cursor < input.count {
            let byte = input[cursor]
            switch byte {
            case UInt8(ascii: "\""):
                return cursor
            case UInt8(ascii: "\\"):
                // A backslash as the last byte: the string is unterminated. (A `break` here
                // only left the switch and spun on the same byte forever; found by fuzzing.)
                guard cursor + 1 < input.count else {
                    throw KeyJSONReader.malformedAt(origin, input.count, "unterminated string")
                }
                switch input[cursor + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    cursor += 2
                case UInt8(ascii: "u"):
                    guard cursor + 6 <= input.count,
                        (2..<6).allSatisfy({ ASCIIHex.value(input[cursor + $0]) != nil })
                    else {
                        throw KeyJSONReader.malformedAt(origin, cursor, "invalid \\u escape")
                    }
                    cursor += 6
                default:
                    throw KeyJSONReader.malformedAt(origin, cursor, "invalid escape in a string")
                }
            case 0x00..<0x20:
                throw KeyJSONReader.malformedAt(origin, cursor, "control character in a string")
            default:
                cursor += 1
            }
        }
        throw KeyJSONReader.malformedAt(origin, input.count, "unterminated string")
    }

    private mutating func skipString() throws {
        position = try scanString() + 1
    }

    /// Decodes the string at `position` into a buffer sized to its raw length (decoding only
    /// shrinks it), so that nothing is ever reallocated.
    private mutating func readString() throws -> SecretBuffer {
        let end = try scanString()
        let buffer = SecretBuffer(capacity: end - position - 1)
        var cursor = position + 1
        while cursor < end {
            let byte = input[cursor]
            guard byte == UInt8(ascii: "\\") else {
                buffer.append(byte)
                cursor += 1
                continue
            }
            let escape = input[cursor + 1]
            cursor += 2
            switch escape {
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(at: cursor)
                cursor += 4
                // A high surrogate must be followed by an escaped low surrogate (RFC 8259 §7).
                if (0xD800..<0xDC00).contains(scalar) {
                    guard cursor + 6 <= end, input[cursor] == UInt8(ascii: "\\"),
                        input[cursor + 1] == UInt8(ascii: "u"),
                        (0xDC00..<0xE000).contains(hex4(at: cursor + 2))
                    else { throw KeyJSONReader.malformedAt(origin, cursor, "unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex4(at: cursor + 2) - 0xDC00)
                    cursor += 6
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw KeyJSONReader.malformedAt(origin, cursor, "unpaired surrogate")
                }
                for unit in UTF8.encode(Unicode.Scalar(scalar)!)! { buffer.append(unit) }
            default: buffer.append(escape)  // '"', '\\' or '/'
            }
        }
        position = end + 1
        return buffer
    }

    private func hex4(at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 << 4 | UInt32(ASCIIHex.value(input[offset + $1])!) }
    }

    private static func malformedAt(_ origin: String, _ offset: Int, _ problem: String)
        -> CryptoError
    {
        .malformedKeyJSON(origin: origin, detail: "\(problem) at byte \(offset)")
    }
}
