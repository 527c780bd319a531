/// JSON text building without `JSONSerialization`: the one JSON string escaper of the package,
/// used by the token API's hot path (where Foundation would cost more than the rest of the
/// request), the JWS claim writer and the dev issuer.
package enum JSONText {
    /// `text` as a JSON string literal (RFC 8259 §7), quotes included.
    package static func string(_ text: String) -> String {
        // Tokens are almost always plain ASCII without quotes or backslashes.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            return "\"" + text + "\""
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 2)
        appendString(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string literal (RFC 8259 §7): quotes, backslashes and control
    /// characters escaped; everything else, including non-ASCII, written as UTF-8.
    package static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// An object from already-encoded member values, in the given order.
    package static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
