import Synchronization
import TokenProxyCrypto
import TokenProxyPosix

/// TLS (≥ 1.2) over a connected socket, with SNI and host-name verification: a blocking
/// `ByteStream` that drives TokenProxyCrypto's `TLSSession`, polling the socket whenever the
/// session asks for it to be readable or writable.
///
/// One thread at a time may read or write; `close()` may come from any thread (an operation in
/// flight is woken by closing the socket underneath it).
package final class TLSStream: ByteStream, @unchecked Sendable {
    // @unchecked: the session is not thread-safe. Every use of it happens inside `gate` (one
    // read or write at a time, by contract) or after `gate` reports nothing in flight.

    /// The name the certificate was verified against (and sent as SNI, for DNS names).
    package var serverName: String { session.serverName }
    let socket: SocketStream
    let session: TLSSession
    private let gate = OperationGate()
    private let closedWithoutCloseNotify = Atomic<Bool>(false)

    private init(session: TLSSession, socket: SocketStream) {
        self.session = session
        self.socket = socket
    }

    deinit {
        close()
    }

    /// Upgrades the connected `socket` to TLS with `serverName` (SNI and the name the
    /// certificate must match: a DNS name or an IP literal, IPv6 with or without brackets),
    /// finishing the handshake before `deadline`. The stream takes over `socket`; on failure the
    /// socket is closed.
    ///
    /// Throws `NetError.certificateVerification` when the chain or name does not verify,
    /// `NetError.timedOut` at the deadline, `NetError.tls` otherwise.
    package static func connect(
        over socket: SocketStream, serverName: String, context: TLSClientContext,
        deadline: ContinuousClock.Instant
    ) throws -> TLSStream {
        let session: TLSSession
        do {
            session = try socket.withFileDescriptor { fd in
                try TLSSession(context: context, fileDescriptor: fd, serverName: serverName)
            }
        } catch {
            socket.close()
            if let error = error as? TLSError { throw NetError(error, peer: socket.peer) }
            throw error
        }
        let stream = TLSStream(session: session, socket: socket)
        do {
            try stream.withSession { fd in
                _ = try stream.drive(
                    fd: fd, deadline: deadline, operation: "TLS handshake with \(stream.peer)"
                ) { stream.session.handshake() }
            }
        } catch {
            stream.close()
            throw error
        }
        return stream
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
    package func read(maxLength: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        precondition(maxLength > 0, "read(maxLength:) needs room for at least one byte")
        return try withSession { fd in
            var bytes = [UInt8](repeating: 0, count: maxLength)
            let count = try drive(fd: fd, deadline: deadline, operation: "read from \(peer)") {
                bytes.withUnsafeMutableBytes { session.read(into: $0) }
            }
            switch count {
            case .some(let count):
                bytes.removeSubrange(count...)
                return bytes
            case .none:
                if session.peerClosedWithoutCloseNotify {
                    closedWithoutCloseNotify.store(true, ordering: .relaxed)
                }
                return []
            }
        }
    }

    /// Writes all of `bytes`, encrypted.
    package func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        try withSession { fd in
            var offset = 0
            while offset < bytes.count {
                let written = try drive(fd: fd, deadline: deadline, operation: "write to \(peer)") {
                    bytes.withUnsafeBytes {
                        session.write(UnsafeRawBufferPointer(rebasing: $0[offset...]))
                    }
                }
                // A write that meets the end of the connection cannot deliver its bytes.
                guard let written else { throw NetError.connectionClosed(peer: peer) }
                offset += written
            }
        }
    }

    /// Whether the peer sent data, an alert or closed the connection, checked without waiting.
    ///
    /// A readable socket alone does not say so: a TLS 1.3 server sends session tickets after
    /// the handshake; `TLSSession.peek()` consumes such records. True once closed.
    package func isReadableOrClosed() -> Bool {
        let readable = try? withSession { fd -> Bool in
            if session.hasDecryptedData { return true }
            // Records read ahead (see `TLSSession.hasBufferedData`) are no longer on the socket.
            guard session.hasBufferedData || Poll.isReadableOrClosed(fd: fd) else { return false }
            switch session.peek() {
            case .wantRead, .wantWrite: return false
            case .done, .closed, .closedWithoutCloseNotify, .failed: return true
            }
        }
        return readable ?? true
    }

    /// Sends close_notify (once, without waiting for the peer's) and closes the socket.
    /// Idempotent and callable from any thread.
    package func close() {
        switch gate.requestClose() {
        case .releaseNow:
            _ = try? socket.withFileDescriptor { _ in session.shutdown() }
            socket.close()
        case .wakeInFlight:
            // The reader or writer owns the session right now; closing the socket wakes it.
            socket.close()
        case .alreadyClosed:
            break
        }
    }

    /// Runs `body` as the one operation using the session, with the socket's descriptor.
    func withSession<Result>(_ body: (Int32) throws -> Result) throws -> Result {
        try gate.run(closedError: .streamClosed(peer: peer), release: {}) {
            try socket.withFileDescriptor(body)
        }
    }
}
