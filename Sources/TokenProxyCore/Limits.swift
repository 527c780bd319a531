/// Bounds the HTTP/1.1 parser enforces while reading, so a peer can never make us buffer or
/// scan without limit. Every limit is checked as bytes arrive (not after a message is complete),
/// and each has a status code to answer with when exceeded (see `HTTPParseError.status`).
///
/// The defaults fit the token API, the IdP client and ordinary reverse-proxy traffic; the proxy
/// may raise `maxBodyBytes` for streamed bodies.
package struct HTTPLimits: Sendable, Equatable {
    /// Default for `maxHeadBytes`: 16 KiB, a little above what common servers allow per line
    /// (nginx: 8 KiB per header line) and far above what our own clients send.
    package static let defaultMaxHeadBytes = 16 * 1024
    /// Default for `maxFieldCount`: 100 field lines, as in nginx/Apache defaults.
    package static let defaultMaxFieldCount = 100
    /// Default for `maxRequestTargetBytes`: 8 KiB (RFC 9112 §3 recommends supporting at least
    /// 8000 octets of request-line).
    package static let defaultMaxRequestTargetBytes = 8 * 1024
    /// Default for `maxChunkSizeLineBytes`: 1 KiB; a chunk-size line is a hex number plus
    /// optional extensions, which nobody legitimately makes long.
    package static let defaultMaxChunkSizeLineBytes = 1024
    /// Default for `maxTrailerBytes`: 8 KiB of trailer fields after a chunked body.
    package static let defaultMaxTrailerBytes = 8 * 1024
    /// Default for `maxBodyBytes`: 1 MiB. Token requests and IdP responses are a few KiB.
    package static let defaultMaxBodyBytes = 1 << 20

    /// Largest start line plus field section plus the empty line ending it, in bytes. Over it: 431.
    package var maxHeadBytes: Int
    /// Most field lines in one head (or one trailer section). Over it: 431.
    package var maxFieldCount: Int
    /// Longest request-target (request mode only). Over it: 414.
    package var maxRequestTargetBytes: Int
    /// Longest chunk-size line including extensions, without CRLF. Over it: 400.
    package var maxChunkSizeLineBytes: Int
    /// Largest trailer section of a chunked body, in bytes. Over it: 431.
    package var maxTrailerBytes: Int
    /// Largest message body the parser lets through (declared or counted). Over it: 413.
    /// Use `Int.max` for streamed bodies whose consumer enforces its own bound.
    package var maxBodyBytes: Int

    package init(
        maxHeadBytes: Int = HTTPLimits.defaultMaxHeadBytes,
        maxFieldCount: Int = HTTPLimits.defaultMaxFieldCount,
        maxRequestTargetBytes: Int = HTTPLimits.defaultMaxRequestTargetBytes,
        maxChunkSizeLineBytes: Int = HTTPLimits.defaultMaxChunkSizeLineBytes,
        maxTrailerBytes: Int = HTTPLimits.defaultMaxTrailerBytes,
        maxBodyBytes: Int = HTTPLimits.defaultMaxBodyBytes
    ) {
        self.maxHeadBytes = maxHeadBytes
        self.maxFieldCount = maxFieldCount
        self.maxRequestTargetBytes = maxRequestTargetBytes
        self.maxChunkSizeLineBytes = maxChunkSizeLineBytes
        self.maxTrailerBytes = maxTrailerBytes
        self.maxBodyBytes = maxBodyBytes
    }
}
