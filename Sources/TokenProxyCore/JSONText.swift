/// JSON text building without `JSONSerialization`: the one JSON string escaper of the package,
/// used by the token API's hot path (where Foundation would cost more than the rest of the
/// request), the JWS claim writer and the dev issuer's key files.
package enum JSONText {
    /// `text` as a JSON string literal (RFC 8259 §7), quotes included.
    package static func string(_ text: String) -> String {
        // Tokens are almost always plain ASCII without quotes or backslashes.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            return "\"" + text + "\""
        }
        var out = ""
        appendString(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string literal (RFC 8259 §7).
    package static func appendString(_ text: String, to out: inout String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 2)
        appendString(utf8: text.utf8, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Appends UTF-8 `text` as a JSON string literal: quotes, backslashes and control
    /// characters escaped; every other byte, including multi-byte UTF-8 sequences (whose bytes
    /// are all ≥ 0x80), copied. Works on bytes so that secret text (a PEM key) never has to
    /// become a `String`, which could not be wiped.
    package static func appendString(utf8 text: some Sequence<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0..<0x20:
                let digits = ASCIIHex.digits(byte)
                out += Array("\\u00".utf8) + [digits.high, digits.low]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// An object from already-encoded member values, in the given order.
    package static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
