/// Turns heads into wire bytes (RFC 9112 §3, §4, §5) and frames chunked bodies (§7.1).
///
/// It writes what it is given: callers validate names and values first (the client does with
/// `HTTPFields.firstInvalidField()`; the server only sends fields it built itself), and decide
/// framing fields (Content-Length or Transfer-Encoding) themselves.
package enum HTTPSerializer {
    private static let crlf: [UInt8] = [0x0D, 0x0A]

    /// `method SP target SP version CRLF`, the fields, then the empty line.
    package static func requestHead(_ head: HTTPRequestHead) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        bytes.append(contentsOf: head.method.utf8)
        bytes.append(0x20)
        bytes.append(contentsOf: head.target.utf8)
        bytes.append(0x20)
        bytes.append(contentsOf: head.version.description.utf8)
        bytes.append(contentsOf: crlf)
        appendFields(head.fields, to: &bytes)
        bytes.append(contentsOf: crlf)
        return bytes
    }

    /// `version SP status SP reason CRLF`, the fields, then the empty line.
    package static func responseHead(_ head: HTTPResponseHead) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        bytes.append(contentsOf: head.version.description.utf8)
        bytes.append(0x20)
        bytes.append(contentsOf: String(head.status).utf8)
        bytes.append(0x20)
        bytes.append(contentsOf: head.reason.utf8)
        bytes.append(contentsOf: crlf)
        appendFields(head.fields, to: &bytes)
        bytes.append(contentsOf: crlf)
        return bytes
    }

    /// One chunk: hex size, CRLF, the data, CRLF. Empty data yields no bytes, because an empty
    /// chunk would be read as the last chunk.
    package static func chunk(_ data: some Collection<UInt8>) -> [UInt8] {
        guard !data.isEmpty else { return [] }
        var bytes = Array(String(data.count, radix: 16).utf8)
        bytes.reserveCapacity(bytes.count + data.count + 4)
        bytes.append(contentsOf: crlf)
        bytes.append(contentsOf: data)
        bytes.append(contentsOf: crlf)
        return bytes
    }

    /// The last chunk (`0 CRLF`), optional trailer fields, and the final CRLF.
    package static func lastChunk(trailers: HTTPFields = HTTPFields()) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "0")] + crlf
        appendFields(trailers, to: &bytes)
        bytes.append(contentsOf: crlf)
        return bytes
    }

    private static func appendFields(_ fields: HTTPFields, to bytes: inout [UInt8]) {
        for field in fields {
            bytes.append(contentsOf: field.name.utf8)
            bytes.append(contentsOf: [UInt8(ascii: ":"), 0x20])
            bytes.append(contentsOf: field.value.utf8)
            bytes.append(contentsOf: crlf)
        }
    }
}
