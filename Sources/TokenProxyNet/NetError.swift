import Glibc
import TokenProxyPosix

/// Transport failures: name resolution, connecting, reading, writing and TLS.
///
/// Messages name the peer (`host:port`) and the failing call with its errno so an operator can
/// act on them; they never contain payload bytes.
package enum NetError: Error, Sendable, CustomStringConvertible {
    /// getaddrinfo failed for `host`.
    case resolve(host: String, message: String)
    /// Every address of `host:port` refused or failed; `errno` is the last failure.
    case connect(host: String, port: Int, errno: Int32)
    /// Connecting to the Unix stream socket at `path` failed.
    case connectUnixSocket(path: String, errno: Int32)
    /// A deadline passed while doing `operation` (for example "connect to idp.example.org:443").
    case timedOut(operation: String)
    /// A system call failed unexpectedly.
    case syscall(name: String, errno: Int32)
    /// Reading from or writing to an established connection failed in `call` (for example
    /// `recv` with `ECONNRESET`).
    case io(peer: String, call: String, errno: Int32)
    /// The peer closed the connection while more data was expected.
    case connectionClosed(peer: String)
    /// The stream was used after this process called `close()` on it (possibly from another
    /// thread, for example to cancel a request).
    case streamClosed(peer: String)
    /// TLS handshake or I/O failed; `detail` is the drained OpenSSL error queue.
    case tls(host: String, detail: String)
    /// The server's certificate did not verify (chain, expiry or host name).
    case certificateVerification(host: String, reason: String)
    /// A TLS configuration file (CA bundle, client certificate or key) could not be used.
    case tlsConfiguration(file: String, detail: String)

    package var description: String {
        switch self {
        case .resolve(let host, let message):
            return "cannot resolve host '\(host)': \(message)"
        case .connect(let host, let port, let errno):
            return
                "cannot connect to \(SocketAddress.displayName(host: host, port: port)): \(Self.text(errno))"
        case .connectUnixSocket(let path, let errno):
            return "cannot connect to Unix socket \(path): \(Self.text(errno))"
        case .timedOut(let operation):
            return "timed out: \(operation)"
        case .syscall(let name, let errno):
            return "\(name) failed: \(Self.text(errno)) (errno \(errno))"
        case .io(let peer, let call, let errno):
            return "connection to \(peer) failed: \(Self.text(errno)) (\(call), errno \(errno))"
        case .connectionClosed(let peer):
            return "connection to \(peer) closed unexpectedly"
        case .streamClosed(let peer):
            return "connection to \(peer) was already closed by this process"
        case .tls(let host, let detail):
            return "TLS with \(host) failed: \(detail)"
        case .certificateVerification(let host, let reason):
            return "certificate of \(host) did not verify: \(reason)"
        case .tlsConfiguration(let file, let detail):
            return "cannot use TLS file '\(file)': \(detail)"
        }
    }

    private static func text(_ errno: Int32) -> String {
        PosixError.reason(errno)
    }
}

extension NetError {
    /// A failed system call as this module reports it (same message: call, reason, errno).
    init(_ error: PosixError) {
        self = .syscall(name: error.call, errno: error.errno)
    }

    /// Runs `body`, reporting a `PosixError` as `NetError.syscall`.
    static func mapping<Result: ~Copyable>(_ body: () throws(PosixError) -> Result) throws(NetError)
        -> Result
    {
        do {
            return try body()
        } catch {
            throw NetError(error)
        }
    }
}
