import Glibc
import Synchronization
import TokenProxyPosix

/// A connected TCP or Unix stream socket, blocking-with-deadlines via poll(2).
///
/// The descriptor is non-blocking; each call polls until it can make progress or its deadline
/// passes. One thread at a time may read or write; `close()` may come from any thread and wakes
/// an operation in flight (see `OperationGate`).
package final class SocketStream: ByteStream, Sendable {
    /// The peer as `host:port` or the Unix path, for messages.
    package let peer: String

    /// The descriptor's number, for `Posix` calls while the gate is open.
    private let fd: Int32
    /// Owns `fd`; taken and closed once, when the gate says so.
    private let descriptor: Mutex<FileDescriptor?>
    private let gate = OperationGate()

    /// Takes ownership of a connected, non-blocking socket.
    init(descriptor: consuming FileDescriptor, peer: String) {
        self.fd = descriptor.rawValue
        self.descriptor = Mutex(descriptor)
        self.peer = peer
    }

    deinit {
        close()
    }

    /// The underlying descriptor, or -1 once the stream is closed. Do not close it yourself.
    package var fileDescriptor: Int32 {
        gate.isClosed ? -1 : fd
    }

    /// Reads at most `maxLength` bytes; returns an empty array at end of stream.
    ///
    /// The corresponding C function is `recv(2)`.
    package func read(maxLength: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        precondition(maxLength > 0, "read(maxLength:) needs room for at least one byte")
        return try withFileDescriptor { fd in
            var bytes = [UInt8](repeating: 0, count: maxLength)
            while true {
                let result = try ioCall { () throws(PosixError) in
                    try bytes.withUnsafeMutableBytes { buffer in
                        Result { () throws(PosixError) in try Posix.receive(fd, into: buffer) }
                    }.get()
                }
                switch result {
                case .done(let count):
                    bytes.removeSubrange(count...)
                    return bytes
                case .wouldBlock:
                    try Poll.wait(
                        fd: fd, for: Int16(POLLIN), deadline: deadline,
                        operation: "read from \(peer)")
                }
            }
        }
    }

    /// Writes all of `bytes`, polling whenever the send buffer is full.
    ///
    /// `MSG_NOSIGNAL` turns a write to a closed peer into `EPIPE` instead of a process-killing
    /// `SIGPIPE`. The corresponding C function is `send(2)`.
    package func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        try withFileDescriptor { fd in
            var offset = 0
            while offset < bytes.count {
                let result = try ioCall { () throws(PosixError) in
                    try bytes.withUnsafeBytes { buffer in
                        Result { () throws(PosixError) in
                            try Posix.send(fd, UnsafeRawBufferPointer(rebasing: buffer[offset...]))
                        }
                    }.get()
                }
                switch result {
                case .done(let count):
                    offset += count
                case .wouldBlock:
                    try Poll.wait(
                        fd: fd, for: Int16(POLLOUT), deadline: deadline,
                        operation: "write to \(peer)")
                }
            }
        }
    }

    /// Whether the peer sent data or closed the connection, checked without waiting.
    ///
    /// An idle keep-alive connection should have nothing to read; if it has (usually the
    /// server's FIN after its idle timeout), it must not be reused. True once closed.
    package func isReadableOrClosed() -> Bool {
        (try? withFileDescriptor { Poll.isReadableOrClosed(fd: $0) }) ?? true
    }

    /// Closes the socket. Idempotent and callable from any thread: an operation in flight on
    /// another thread is woken by `shutdown(2)` and the descriptor is closed when it returns.
    ///
    /// The corresponding C functions are `shutdown(2)` and `close(2)`.
    package func close() {
        switch gate.requestClose() {
        case .releaseNow: releaseDescriptor()
        case .wakeInFlight: try? Posix.shutdown(fd, how: Int32(SHUT_RDWR))
        case .alreadyClosed: break
        }
    }

    /// Runs `body` with the open descriptor; throws `NetError.streamClosed` after `close()`.
    func withFileDescriptor<Result>(_ body: (Int32) throws -> Result) throws -> Result {
        try gate.run(closedError: .streamClosed(peer: peer), release: releaseDescriptor) {
            try body(fd)
        }
    }

    private func releaseDescriptor() {
        // The gate runs this once. A socket's close reports nothing to act on (the descriptor
        // is gone either way on Linux); EBADF, a double close, traps in Posix.
        guard let owner = descriptor.withLock({ $0.take() }) else { return }
        try? owner.close()
    }

    /// A `Posix` call with failures of an established connection reported with the peer's name.
    func ioCall<Value>(_ body: () throws(PosixError) -> Value) throws(NetError) -> Value {
        do {
            return try body()
        } catch {
            throw .io(peer: peer, call: error.call, errno: error.errno)
        }
    }
}
