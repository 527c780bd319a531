extension JSONText {
    /// `value` as compact JSON with every object's keys sorted, a name given twice written once
    /// with its last value, and `/` left unescaped: the bytes `JSONSerialization` wrote with
    /// `[.sortedKeys, .withoutEscapingSlashes]` before this writer replaced it, so answers built
    /// from re-encoded JSON (a JWT's claims) stay byte-for-byte the same.
    ///
    /// Numbers: a whole number within `Int64` is written as an integer (`1700000000`, not
    /// `1700000000.0`); others in Swift's shortest round-trip form (`1.5`, `1e+100`). Core's
    /// reader holds numbers as `Double`, so an integer above 2^53 comes back as the nearest
    /// double's digits — JSON numbers beyond 2^53 are not interoperable anyway (RFC 8259 §6).
    package static func sortedKeys(_ value: ConfigJSON) -> String {
        var out = ""
        appendSorted(value, to: &out)
        return out
    }

    private static func appendSorted(_ value: ConfigJSON, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number): out += self.number(number)
        case .string(let text): appendString(text, to: &out)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                appendSorted(element, to: &out)
            }
            out += "]"
        case .object(let members):
            var last: [String: ConfigJSON] = [:]
            for member in members { last[member.key] = member.value }
            out += "{"
            for (index, key) in last.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                appendSorted(last[key]!, to: &out)
            }
            out += "}"
        }
    }

    /// A finite JSON number (Core's reader refuses the others): integers without a fraction.
    package static func number(_ value: Double) -> String {
        if value.rounded(.towardZero) == value, value >= -0x1p63, value < 0x1p63 {
            return String(Int64(value))
        }
        return "\(value)"
    }
}
