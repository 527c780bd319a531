/// What `HTTPParser.next()` found in the bytes fed so far. A message is always one head event,
/// zero or more `body` events and one `end`; interim responses come before the head they precede.
package enum HTTPParserEvent: Sendable, Equatable {
    /// A complete request head (request mode). Framing has been validated already.
    case requestHead(HTTPRequestHead)
    /// A complete final response head (response mode).
    case responseHead(HTTPResponseHead)
    /// An interim 1xx response (other than 101); the final response follows. Clients usually
    /// ignore it; a proxy may forward it.
    case informationalResponse(HTTPResponseHead)
    /// Body bytes, already de-chunked. A slice of the parser's buffer: copy it (or consume it)
    /// before keeping it long, or the buffer stays alive with it.
    case body(ArraySlice<UInt8>)
    /// The message is complete. `trailers` holds the trailer fields of a chunked body (usually
    /// empty).
    case end(trailers: HTTPFields)
}
