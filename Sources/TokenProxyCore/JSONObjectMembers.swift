/// A JSON object as the code that reads other programs' JSON sees it (a JWS header, a JWT
/// payload, a JWKS, an IdP's introspection or error answer, the daemon's answers to the CLI):
/// parsed by Core's strict RFC 8259 reader, a name given twice keeping its last value, as
/// `JSONSerialization` (which this replaced, to keep Foundation out of the binary) did and
/// RFC 7515 §5.2 allows.
package struct JSONObjectMembers: Sendable {
    /// The members in document order, duplicates included.
    package let members: [ConfigJSON.Member]

    /// The object `bytes` hold, or nil when they are not one JSON object.
    package init?(_ bytes: [UInt8]) {
        guard let value = try? ConfigJSON.parse(bytes) else { return nil }
        self.init(value)
    }

    /// `value` if it is an object.
    package init?(_ value: ConfigJSON) {
        guard case .object(let members) = value else { return nil }
        self.members = members
    }

    /// The value of `name`'s last occurrence; nil when absent (a JSON `null` is `.null`).
    package subscript(name: String) -> ConfigJSON? {
        members.last { $0.key == name }?.value
    }

    /// `name`'s value when it is a string.
    package func string(_ name: String) -> String? {
        guard case .string(let text)? = self[name] else { return nil }
        return text
    }

    /// `name`'s value when it is `true` or `false` (never a number: `1` is not a boolean).
    package func bool(_ name: String) -> Bool? {
        guard case .bool(let flag)? = self[name] else { return nil }
        return flag
    }

    /// `name`'s value when it is a number.
    package func number(_ name: String) -> Double? {
        guard case .number(let value)? = self[name] else { return nil }
        return value
    }

    /// `name`'s number cut to a whole number, as `NSNumber.int64Value` did for the
    /// `JSONSerialization` code this replaced (`1.9` → 1); nil when it is not a number or lies
    /// outside `Int64` (a huge number is refused, not clamped).
    package func int64(_ name: String) -> Int64? {
        number(name).flatMap(Self.truncatedInt64)
    }

    /// `value` without its fraction, if that fits an `Int64`.
    package static func truncatedInt64(_ value: Double) -> Int64? {
        // -2^63 fits and 2^63 is the first Double above Int64.max: the range is half-open.
        guard value.isFinite, value >= -0x1p63, value < 0x1p63 else { return nil }
        return Int64(value.rounded(.towardZero))
    }
}
