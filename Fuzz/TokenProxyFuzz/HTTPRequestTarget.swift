import TokenProxyCore

/// The request parser on arbitrary bytes, in one piece and with tight limits (so the limit
/// checks themselves get exercised on short inputs).
enum HTTPRequestTarget {
    static func run(_ bytes: [UInt8]) {
        _ = HTTPMessageReader.read(mode: .request, pieces: [bytes[...]])
        let tight = HTTPLimits(
            maxHeadBytes: 200, maxFieldCount: 6, maxRequestTargetBytes: 40,
            maxChunkSizeLineBytes: 12, maxTrailerBytes: 60, maxBodyBytes: 100)
        _ = HTTPMessageReader.read(mode: .request, pieces: [bytes[...]], limits: tight)
    }
}
