/// What a TLS session call (`handshake`, `read`, `write`, `peek`) came to. A non-blocking
/// caller waits for the socket as `wantRead`/`wantWrite` say and calls again; this is how a
/// blocking stream (polling) and an event loop (`SSL_ERROR_WANT_READ/WRITE` from epoll) both
/// drive one `TLSSession`.
package enum TLSResult<Value> {
    /// The call completed with this value.
    case done(Value)
    /// Call again once the socket is readable (a write may need this too: TLS renegotiation,
    /// TLS 1.3 post-handshake messages).
    case wantRead
    /// Call again once the socket is writable (a read may need this too).
    case wantWrite
    /// The peer sent close_notify: a clean end of stream.
    case closed
    /// The peer closed TCP without close_notify. HTTP/1.1 framing still tells whether a message
    /// was complete; a reader to end of stream may treat this as truncation.
    case closedWithoutCloseNotify
    /// The call failed; the session may not be used any more except to be freed.
    case failed(TLSError)
}

extension TLSResult {
    /// The same outcome with `transform` applied to a `.done` value.
    package func map<Other>(_ transform: (Value) -> Other) -> TLSResult<Other> {
        switch self {
        case .done(let value): return .done(transform(value))
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closed: return .closed
        case .closedWithoutCloseNotify: return .closedWithoutCloseNotify
        case .failed(let error): return .failed(error)
        }
    }
}
