/// Hexadecimal digits as bytes, written once for every parser and writer that needs them:
/// chunk sizes (RFC 9112 §7.1), `\uXXXX` JSON escapes (RFC 8259 §7), percent-encoding
/// (RFC 3986 §2.1).
package enum ASCIIHex {
    /// The value of one hexadecimal digit (either case), or nil for any other byte.
    @inline(__always)
    package static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }

    /// The two digits of `byte`, high nibble first; lower case unless `uppercase` (RFC 3986
    /// §2.1 prefers upper case in percent-encoding).
    package static func digits(_ byte: UInt8, uppercase: Bool = false) -> (high: UInt8, low: UInt8)
    {
        let table = uppercase ? upper : lower
        return (table[Int(byte >> 4)], table[Int(byte & 0x0F)])
    }

    private static let lower: [UInt8] = Array("0123456789abcdef".utf8)
    private static let upper: [UInt8] = Array("0123456789ABCDEF".utf8)
}
