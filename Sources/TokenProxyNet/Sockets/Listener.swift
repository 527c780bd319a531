import CLinuxShims
import Glibc
import Synchronization

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
    let fileDescriptor: Int32
    /// Device and inode of the socket file we created, to unlink only our own file.
    private let socketFile: (device: UInt64, inode: UInt64)?
    private let closed = Mutex(false)

    init(
        name: String, fileDescriptor: Int32, family: Int32, port: Int?, path: String?,
        socketFile: (device: UInt64, inode: UInt64)?
    ) {
        self.name = name
        self.fileDescriptor = fileDescriptor
        self.family = family
        self.port = port
        self.path = path
        self.socketFile = socketFile
    }

    deinit {
        close()
    }

    /// Stops listening: closes the descriptor and removes the socket file we created.
    package func close() {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        _ = Glibc.close(fileDescriptor)
        if let path, let socketFile, let current = Self.fileIdentity(path),
            current == socketFile
        {
            unlink(path)
        }
    }

    /// Device and inode of the file at `path` (not following symlinks), or nil.
    static func fileIdentity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// The family and port (0 for Unix sockets) `fd` is bound to.
    /// The corresponding C function is `getsockname`.
    static func boundAddress(of fd: Int32) -> (family: Int32, port: Int)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        let family = Int32(storage.ss_family)
        guard family == AF_INET || family == AF_INET6 else { return (family, 0) }
        return (family, PeerCredentials.numericHost(storage).1)
    }

    /// Sets an integer socket option. The corresponding C function is `setsockopt`.
    static func setOption(
        _ fd: Int32, _ level: Int32, _ option: Int32, _ value: Int32, socket: String
    ) throws(ListenerError) {
        var value = value
        let result = setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
        guard result == 0 else { throw .syscall(call: "setsockopt", socket: socket, errno: errno) }
    }

    /// Reads an integer socket option. The corresponding C function is `getsockopt`.
    static func option(_ fd: Int32, _ level: Int32, _ option: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, level, option, &value, &length) == 0 else { return nil }
        return value
    }
}
