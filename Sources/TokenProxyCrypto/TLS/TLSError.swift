#if canImport(Glibc)
    import Glibc
#endif

/// Failures of TLS contexts and sessions. TokenProxyNet turns them into `NetError`s naming the
/// peer (`NetError.init(_:peer:)`); messages name files and hosts, never key material.
package enum TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A TLS configuration file (CA bundle, client certificate or key) could not be used.
    case configuration(file: String, detail: String)
    /// The handshake or a TLS record failed; `detail` is usually the drained OpenSSL error
    /// queue (`OpenSSLErrorStack`).
    case protocolFailure(host: String, detail: String)
    /// The server's certificate did not verify (chain, expiry or host name).
    case certificateVerification(host: String, reason: String)
    /// The socket under the session failed in `call` (`SSL_read`, `SSL_write`, `SSL_connect`)
    /// with `errno`; OpenSSL had nothing to add.
    case socket(call: String, errno: Int32)

    package var description: String {
        switch self {
        case .configuration(let file, let detail):
            return "cannot use TLS file '\(file)': \(detail)"
        case .protocolFailure(let host, let detail):
            return "TLS with \(host) failed: \(detail)"
        case .certificateVerification(let host, let reason):
            return "certificate of \(host) did not verify: \(reason)"
        case .socket(let call, let errno):
            return "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }
}

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
