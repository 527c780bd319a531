internal import COpenSSL
import Glibc
import Synchronization
import TokenProxyPosix

/// TLS (≥ 1.2) over a connected socket, with SNI and host-name verification.
///
/// One thread at a time may read or write; `close()` may come from any thread (an operation in
/// flight is woken by closing the socket underneath it).
package final class TLSStream: ByteStream, @unchecked Sendable {
    // @unchecked: the `SSL` object is not thread-safe. Every use of it happens inside `gate`
    // (one read or write at a time, by contract) or after `gate` reports nothing in flight.

    /// The name the certificate was verified against (and sent as SNI, for DNS names).
    package let serverName: String
    let socket: SocketStream
    let ssl: OpaquePointer
    /// Kept for the configuration's lifetime guarantees (`SSL_new` also holds a reference).
    private let context: TLSClientContext
    private let gate = OperationGate()
    /// Set after a fatal TLS error: OpenSSL forbids SSL_shutdown on such a connection.
    private let failed = Atomic<Bool>(false)
    private let closedWithoutCloseNotify = Atomic<Bool>(false)

    init(ssl: OpaquePointer, socket: SocketStream, serverName: String, context: TLSClientContext) {
        self.ssl = ssl
        self.socket = socket
        self.serverName = serverName
        self.context = context
    }

    deinit {
        close()
        SSL_free(ssl)
    }

    /// The peer as `host:port` or Unix path, for messages.
    package var peer: String { socket.peer }

    /// The socket's descriptor, or -1 once closed. Do not read, write or close it yourself.
    package var fileDescriptor: Int32 { socket.fileDescriptor }

    /// True once a read returned end of stream because the peer closed TCP without sending
    /// close_notify. HTTP/1.1 framing (Content-Length, chunked) still tells whether a message
    /// was complete; a caller reading to end of stream may treat this as truncation.
    package var peerClosedWithoutCloseNotify: Bool {
        closedWithoutCloseNotify.load(ordering: .relaxed)
    }

    /// Reads at most `maxLength` decrypted bytes; returns an empty array at end of stream
    /// (close_notify, or TCP closed without it: see `peerClosedWithoutCloseNotify`).
    ///
    /// The corresponding C function is `SSL_read`.
    package func read(maxLength: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        precondition(maxLength > 0, "read(maxLength:) needs room for at least one byte")
        return try withSSL { fd in
            // Stay at end of stream: OpenSSL would report a second read as a protocol error.
            if closedWithoutCloseNotify.load(ordering: .relaxed) { return [] }
            var bytes = [UInt8](repeating: 0, count: maxLength)
            let outcome = try callRetrying(
                fd: fd, deadline: deadline, operation: "read from \(peer)"
            ) {
                bytes.withUnsafeMutableBytes {
                    SSL_read(ssl, $0.baseAddress, Int32(clamping: $0.count))
                }
            }
            switch outcome {
            case .done(let count):
                bytes.removeSubrange(Int(count)...)
                return bytes
            case .failed(SSL_ERROR_ZERO_RETURN, _):
                return []
            case .failed(SSL_ERROR_SSL, _) where OpenSSLError.queueHoldsUnexpectedEOF(),
                .failed(SSL_ERROR_SYSCALL, 0) where OpenSSLError.queueIsEmpty:
                // OpenSSL 3 reports a TCP EOF without close_notify as the first; 1.1 as the second.
                OpenSSLError.clearQueue()
                markFailed()
                closedWithoutCloseNotify.store(true, ordering: .relaxed)
                return []
            case .failed(let code, let savedErrno):
                throw failure(code: code, errno: savedErrno, call: "SSL_read")
            }
        }
    }

    /// Writes all of `bytes`, encrypted.
    ///
    /// The corresponding C function is `SSL_write`.
    package func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        try withSSL { fd in
            var offset = 0
            while offset < bytes.count {
                let outcome = try callRetrying(
                    fd: fd, deadline: deadline, operation: "write to \(peer)"
                ) {
                    bytes.withUnsafeBytes { buffer in
                        SSL_write(
                            ssl, buffer.baseAddress! + offset,
                            Int32(clamping: buffer.count - offset))
                    }
                }
                switch outcome {
                case .done(let count): offset += Int(count)
                case .failed(let code, let savedErrno):
                    throw failure(code: code, errno: savedErrno, call: "SSL_write")
                }
            }
        }
    }

    /// Whether the peer sent data, an alert or closed the connection, checked without waiting.
    ///
    /// A readable socket alone does not say so: a TLS 1.3 server sends session tickets after the
    /// handshake. `SSL_peek` consumes such records and reports whether application data or an
    /// end of stream is behind them. True once closed.
    /// The corresponding C functions are `SSL_pending` and `SSL_peek`.
    package func isReadableOrClosed() -> Bool {
        let readable = try? withSSL { fd -> Bool in
            if SSL_pending(ssl) > 0 { return true }
            guard Poll.isReadableOrClosed(fd: fd) else { return false }
            OpenSSLError.clearQueue()
            var byte: UInt8 = 0
            let result = SSL_peek(ssl, &byte, 1)
            if result > 0 { return true }
            let code = SSL_get_error(ssl, result)
            OpenSSLError.clearQueue()
            if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return false }
            if code != SSL_ERROR_ZERO_RETURN { markFailed() }
            return true
        }
        return readable ?? true
    }

    /// Sends close_notify (once, without waiting for the peer's) and closes the socket.
    /// Idempotent and callable from any thread.
    ///
    /// The corresponding C function is `SSL_shutdown`.
    package func close() {
        switch gate.requestClose() {
        case .releaseNow:
            if !failed.load(ordering: .relaxed) {
                _ = try? socket.withFileDescriptor { _ in
                    OpenSSLError.clearQueue()
                    _ = SSL_shutdown(ssl)
                    OpenSSLError.clearQueue()
                }
            }
            socket.close()
        case .wakeInFlight:
            // The reader or writer owns the SSL object right now; closing the socket wakes it.
            socket.close()
        case .alreadyClosed:
            break
        }
    }

    /// Records a fatal TLS error: OpenSSL forbids `SSL_shutdown` afterwards.
    func markFailed() {
        failed.store(true, ordering: .relaxed)
    }

    /// Runs `body` as the one operation using the `SSL` object, with the socket's descriptor.
    func withSSL<Result>(_ body: (Int32) throws -> Result) throws -> Result {
        try gate.run(closedError: .streamClosed(peer: peer), release: {}) {
            try socket.withFileDescriptor(body)
        }
    }
}
