internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// One TLS client connection (an OpenSSL `SSL`) over a connected socket that the caller owns
/// and waits on.
///
/// Calls never wait: each returns a `TLSResult`, and on `wantRead`/`wantWrite` the caller waits
/// for the socket (poll for a blocking stream, epoll for an event loop) and calls again with the
/// same arguments. One thread at a time may use a session; it is not `Sendable`.
package final class TLSSession {
    /// The name the certificate is verified against (and sent as SNI, for DNS names).
    package let serverName: String
    /// Owns the `SSL`.
    private let backing: Backing
    /// Set after a fatal error: OpenSSL forbids `SSL_shutdown` on such a connection.
    package private(set) var hasFailed = false
    /// Set once a read met TCP end of stream without close_notify; later reads stay at end of
    /// stream (OpenSSL would report a second read as a protocol error).
    package private(set) var peerClosedWithoutCloseNotify = false
    /// Set once `shutdown()` ran: close_notify is sent at most once.
    private var isShutDown = false

    /// Prepares a session with `serverName` over the connected socket `fileDescriptor` (which
    /// must stay open until the session is gone; the session never closes it).
    ///
    /// `serverName` is a DNS name or an IP literal (IPv6 with or without brackets). A DNS name
    /// is sent as SNI and checked against the certificate's DNS names; an IP literal is not sent
    /// (RFC 6066 §3 allows only host names in SNI) and is checked against its IP addresses.
    ///
    /// With `port`, the session resumes the context's last session with `serverName`:`port`
    /// if it has one (RFC 8446 §2.2, RFC 5077) and leaves its own for the next connection
    /// there (`TLSSessionCache`); `isResumed` tells which handshake ran.
    package init(
        context: TLSClientContext, fileDescriptor: Int32, serverName: String, port: Int? = nil
    ) throws(TLSError) {
        self.serverName = serverName
        backing = try Backing(context: context, serverName: serverName)
        let name = Self.unbracketed(serverName)
        guard !name.isEmpty else {
            throw .protocolFailure(host: serverName, detail: "the server name is empty")
        }
        try backing.verifyPeer(named: name, isIPAddress: Self.isIPAddress(name))
        try backing.attachSocket(fileDescriptor)
        if let port { backing.resume(key: "\(name):\(port)") }
    }

    /// Whether the handshake resumed an earlier session (no certificate was sent: it was
    /// verified when that session was made).
    package var isResumed: Bool { backing.isResumed }

    /// Runs the client handshake; `.done` once the server is verified.
    ///
    /// A certificate that does not verify fails with `TLSError.certificateVerification`,
    /// explaining what an operator can do. The corresponding C function is `SSL_connect`.
    package func handshake() -> TLSResult<Void> {
        let result = call("SSL_connect") { backing.connect() }
        switch result {
        case .done, .wantRead, .wantWrite:
            return result.map { _ in () }
        case .failed, .closed, .closedWithoutCloseNotify:
            hasFailed = true
            backing.forgetSession()
            if let reason = backing.verificationFailure(name: Self.unbracketed(serverName)) {
                return .failed(.certificateVerification(host: serverName, reason: reason))
            }
            if case .failed(let error) = result { return .failed(error) }
            return .failed(
                .protocolFailure(
                    host: serverName,
                    detail: "the server closed the connection during the handshake"))
        }
    }

    /// Decrypts at most `buffer.count` bytes into `buffer`; `.done(count)` with count > 0.
    /// The corresponding C function is `SSL_read`.
    package func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSResult<Int> {
        precondition(buffer.count > 0, "TLSSession.read needs room for at least one byte")
        if peerClosedWithoutCloseNotify { return .closedWithoutCloseNotify }
        let result = call("SSL_read") { backing.read(into: buffer) }
        if case .closedWithoutCloseNotify = result { peerClosedWithoutCloseNotify = true }
        return result.map { Int($0) }
    }

    /// Encrypts and sends a prefix of `bytes`; `.done(count)` says how long (partial writes
    /// are enabled). After `wantRead`/`wantWrite`, call again with the same remaining bytes
    /// (they may have moved). The corresponding C function is `SSL_write`.
    package func write(_ bytes: UnsafeRawBufferPointer) -> TLSResult<Int> {
        precondition(bytes.count > 0, "TLSSession.write needs at least one byte")
        return call("SSL_write") { backing.write(bytes) }.map { Int($0) }
    }

    /// Whether OpenSSL holds bytes a read can use without the socket: decrypted data, or
    /// received bytes read ahead but not yet processed (a whole record, or part of one). An
    /// event loop must read again while this holds, since epoll will not announce bytes that
    /// already left the socket. The corresponding C function is `SSL_has_pending`.
    package var hasBufferedData: Bool { backing.hasPending }

    /// Whether decrypted application data is ready (a session ticket or a partial record read
    /// ahead is not). The corresponding C function is `SSL_pending`.
    package var hasDecryptedData: Bool { backing.pending > 0 }

    /// Processes records the socket already holds and says whether application data
    /// (`.done`) or an end of stream is behind them, without consuming data.
    ///
    /// A readable socket alone does not say so: a TLS 1.3 server sends session tickets after
    /// the handshake. The corresponding C function is `SSL_peek`.
    package func peek() -> TLSResult<Void> {
        if peerClosedWithoutCloseNotify { return .closedWithoutCloseNotify }
        return call("SSL_peek") { backing.peekOneByte() }.map { _ in () }
    }

    /// Sends close_notify (without waiting for the peer's) unless the session failed; the
    /// caller closes the socket afterwards. The corresponding C function is `SSL_shutdown`.
    package func shutdown() {
        guard !hasFailed, !isShutDown else { return }
        isShutDown = true
        OpenSSLErrorStack.clear()
        backing.shutdown()
        OpenSSLErrorStack.clear()
    }

    /// Runs one `SSL_*` call from an empty error queue and classifies its outcome with
    /// `SSL_get_error` (which needs the queue and `errno` as the call left them).
    private func call(_ name: String, _ body: () -> Int32) -> TLSResult<Int32> {
        OpenSSLErrorStack.clearIfNotEmpty()
        errno = 0
        let result = body()
        let savedErrno = errno
        if result > 0 { return .done(result) }
        let code = backing.error(for: result)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: break
        }
        hasFailed = true
        let errors = OpenSSLErrorStack.drain()
        // OpenSSL 3 reports a TCP EOF without close_notify as the first; 1.1 as the second.
        if code == SSL_ERROR_SSL,
            errors.entries.first?.reason == SSL_R_UNEXPECTED_EOF_WHILE_READING
        {
            return .closedWithoutCloseNotify
        }
        if code == SSL_ERROR_SYSCALL, errors.isEmpty {
            return savedErrno == 0
                ? .closedWithoutCloseNotify : .failed(.socket(call: name, errno: savedErrno))
        }
        let detail =
            errors.isEmpty ? "\(name) failed (SSL_get_error \(code); \(errors))" : "\(errors)"
        return .failed(.protocolFailure(host: serverName, detail: detail))
    }

    /// `host` without the brackets of an IPv6 literal (`[::1]` → `::1`).
    static func unbracketed(_ host: String) -> String {
        guard host.hasPrefix("["), host.hasSuffix("]"), host.count >= 2 else { return host }
        return String(host.dropFirst().dropLast())
    }

    /// Whether `name` is an IPv4 or IPv6 literal. The corresponding C function is `inet_pton`.
    package static func isIPAddress(_ name: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
    }
}
