import TokenProxyCore

/// A JSON object as JOSE code reads it (a JWS header, a JWT payload, a JWKS and its keys):
/// parsed by Core's strict RFC 8259 reader, a name given twice keeping its last value, as
/// `JSONSerialization` (which this replaced, to keep Foundation out of the module) did and
/// RFC 7515 §5.2 allows.
struct JSONObjectMembers {
    private let members: [ConfigJSON.Member]

    /// The object `bytes` hold, or nil when they are not one JSON object.
    init?(_ bytes: [UInt8]) {
        guard let value = try? ConfigJSON.parse(bytes) else { return nil }
        self.init(value)
    }

    /// `value` if it is an object.
    init?(_ value: ConfigJSON) {
        guard case .object(let members) = value else { return nil }
        self.members = members
    }

    /// The value of `name`'s last occurrence; nil when absent (a JSON `null` is `.null`).
    subscript(name: String) -> ConfigJSON? {
        members.last { $0.key == name }?.value
    }

    /// `name`'s value when it is a string.
    func string(_ name: String) -> String? {
        guard case .string(let text)? = self[name] else { return nil }
        return text
    }
}
