/// Bounds the HTTP/1.1 parser enforces while reading, so a peer can never make us buffer or
/// scan without limit. Every limit is checked as bytes arrive (not after a message is complete),
/// and each has a status code to answer with when exceeded (see `HTTPParseError.status`).
///
/// The defaults (`Limits.HTTP`) fit the token API, the IdP client and ordinary reverse-proxy traffic; the proxy
/// may raise `maxBodyBytes` for streamed bodies.
package struct HTTPLimits: Sendable, Equatable {
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
        maxHeadBytes: Int = Limits.HTTP.maxHeadBytes,
        maxFieldCount: Int = Limits.HTTP.maxFieldCount,
        maxRequestTargetBytes: Int = Limits.HTTP.maxRequestTargetBytes,
        maxChunkSizeLineBytes: Int = Limits.HTTP.maxChunkSizeLineBytes,
        maxTrailerBytes: Int = Limits.HTTP.maxTrailerBytes,
        maxBodyBytes: Int = Limits.HTTP.maxBodyBytes
    ) {
        self.maxHeadBytes = maxHeadBytes
        self.maxFieldCount = maxFieldCount
        self.maxRequestTargetBytes = maxRequestTargetBytes
        self.maxChunkSizeLineBytes = maxChunkSizeLineBytes
        self.maxTrailerBytes = maxTrailerBytes
        self.maxBodyBytes = maxBodyBytes
    }
}
