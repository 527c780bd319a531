import TokenProxyCore

/// The response parser (status line, 1xx, framing by request method, chunked decoding,
/// read-until-close). The first input byte picks the methods the responses answer, since the
/// method decides the framing (RFC 9112 §6.3).
enum HTTPResponseTarget {
    static let methods = ["GET", "HEAD", "CONNECT", "POST"]

    static func run(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let rest = bytes.dropFirst()
        let first = methods[Int(selector & 3)]
        let second = methods[Int(selector >> 2 & 3)]
        let whole = HTTPMessageReader.read(
            mode: .response, pieces: [rest], methods: [first, second])
        // Responses arrive in pieces too: the reading must not depend on where they split.
        let split = rest.startIndex + Int(selector >> 4) % (rest.count + 1)
        let pieces = HTTPMessageReader.read(
            mode: .response, pieces: [rest[..<split], rest[split...]], methods: [first, second])
        precondition(whole == pieces, "response reading depends on the split at \(split)")
    }
}
