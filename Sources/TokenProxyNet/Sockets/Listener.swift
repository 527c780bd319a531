import Glibc
import Synchronization
import TokenProxyPosix

/// A listening stream socket an `HTTPServer` accepts connections from: a Unix socket it
/// created, a TCP socket it bound, or a socket inherited from systemd.
///
/// Create one with `unix(path:mode:group:name:)`, `tcp(host:port:name:)` or
/// `inherited(fileDescriptor:name:)`. The descriptor is non-blocking and close-on-exec. A
/// listener belongs to one server, which closes it on shutdown; `close()` (also run on
/// deinit) is idempotent. Closing a Unix listener this process created removes its socket file,
/// unless another process has since replaced the file.
package final class Listener: Sendable {
    /// The backlog passed to `listen(2)`; the kernel caps it at `net.core.somaxconn`.
    static let backlog: Int32 = 1024

    /// Names the listener in `HTTPServerRequest.listener` and in messages.
    package let name: String
    /// The bound TCP port (useful after binding port 0), or nil for a Unix socket.
    package let port: Int?
    /// The socket path of a Unix listener this process created, else nil.
    package let path: String?
    /// `AF_UNIX`, `AF_INET` or `AF_INET6`: decides how peers are identified.
    let family: Int32
    /// The listening socket's number, valid until `close()`.
    let fileDescriptor: Int32
    /// Owns `fileDescriptor`; taken (and closed) once by `close()`.
    private let descriptor: Mutex<FileDescriptor?>
    /// Device and inode of the socket file we created, to unlink only our own file.
    private let socketFile: (device: UInt64, inode: UInt64)?
    /// The address a TCP listener we bound is bound to (its port picked), when more sockets may
    /// join it with SO_REUSEPORT (one per event loop, `loopSockets(count:)`); nil for Unix and
    /// inherited sockets, which stay one socket.
    let reusePortAddress: sockaddr_storage?
    /// The sockets made for more loops (same address, SO_REUSEPORT), owned like `descriptor`:
    /// closed by `close()`, never reopened after it (`closed`).
    let siblings = Mutex<(sockets: [Int32], closed: Bool)>(([], false))

    init(
        name: String, descriptor: consuming FileDescriptor, family: Int32, port: Int?,
        path: String?, socketFile: (device: UInt64, inode: UInt64)?,
        reusePort: sockaddr_storage? = nil
    ) {
        self.reusePortAddress = reusePort
        self.name = name
        self.fileDescriptor = descriptor.rawValue
        self.descriptor = Mutex(descriptor)
        self.family = family
        self.port = port
        self.path = path
        self.socketFile = socketFile
    }

    deinit {
        close()
    }

    /// Stops listening: closes the descriptor (and the loops' sockets on the same address,
    /// whose queued connections go with them) and removes the socket file we created.
    package func close() {
        let more = siblings.withLock { siblings -> [Int32] in
            siblings.closed = true
            defer { siblings.sockets = [] }
            return siblings.sockets
        }
        // A listening socket's close reports nothing to act on; EBADF traps in Posix.
        for socket in more { try? FileDescriptor(adopting: socket).close() }
        guard let owner = descriptor.withLock({ $0.take() }) else { return }
        try? owner.close()
        if let path, let socketFile, let current = Self.fileIdentity(path),
            current == socketFile
        {
            // Best effort: the file may be gone already.
            try? Posix.unlink(path)
        }
    }

    /// Device and inode of the file at `path` (not following symlinks), or nil.
    static func fileIdentity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        guard let status = try? Posix.linkStatus(path) else { return nil }
        return (status.device, status.inode)
    }

    /// The family and port (0 for Unix sockets) `fd` is bound to.
    static func boundAddress(of fd: Int32) throws(PosixError) -> (family: Int32, port: Int) {
        let storage = try Posix.socketName(fd)
        let family = Int32(storage.ss_family)
        guard family == AF_INET || family == AF_INET6 else { return (family, 0) }
        return (family, PeerCredentials.numericHost(storage).1)
    }

    /// Sets an integer socket option.
    static func setOption(
        _ fd: Int32, _ level: Int32, _ option: Int32, _ value: Int32, socket: String
    ) throws(ListenerError) {
        try setUp(socket) { () throws(PosixError) in
            try Posix.setSocketOption(fd, level: level, option: option, value: value)
        }
    }

    /// Runs one `Posix` call of setting up `socket`, reporting a failure as
    /// `ListenerError.syscall` for that socket.
    static func setUp<Result: ~Copyable>(
        _ socket: String, _ body: () throws(PosixError) -> Result
    ) throws(ListenerError) -> Result {
        do {
            return try body()
        } catch {
            throw .syscall(call: error.call, socket: socket, errno: error.errno)
        }
    }
}
