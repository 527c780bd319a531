/// An HTTP/1.x protocol version. The parser only ever produces 1.0 or 1.1; anything else is
/// answered with 505 (RFC 9110 §15.6.6). `public` (members `package`) because the heads'
/// inlinable accessors return it (see `HTTPRequestHead`).
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    package var major: Int
    package var minor: Int

    package init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    package static let http1_0 = HTTPVersion(major: 1, minor: 0)
    package static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// As on the wire: `HTTP/1.1`.
    public var description: String { "HTTP/\(major).\(minor)" }

    /// Whether a message with `fields` leaves the connection open afterwards (RFC 9112 §9.3):
    /// HTTP/1.1 persists unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    package func keepsAlive(with fields: HTTPFields) -> Bool {
        keepsAlive(factBits: fields.factBits)
    }

    /// `keepsAlive(with:)` from the fields' `factBits`, which a caller in another module reads
    /// in place (passing the fields made it retain and release them around the call).
    package func keepsAlive(factBits: UInt32) -> Bool {
        // From the facts noted as the fields were appended: no scan, no list built.
        let facts = HTTPFields.Facts(rawValue: factBits)
        if facts.contains(.connectionClose) { return false }
        if self == .http1_1 { return true }
        return facts.contains(.connectionKeepAlive)
    }
}
