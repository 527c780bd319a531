import Glibc
import TokenProxyPosix

extension Listener {
    /// Creates a Unix stream socket at `path`, with permissions `mode` and, when `group` is
    /// given, owned by that group, then listens on it.
    ///
    /// A socket file left behind by a crashed process is replaced: if connecting to it is
    /// refused, nobody accepts there and it is unlinked. A socket someone still listens on is
    /// an error (`socketInUse`), and so is anything that is not a socket (`notASocket`): we
    /// never delete a regular file because a configuration pointed at it.
    ///
    /// Mode and group are applied before `listen(2)`, so no client can connect while the file
    /// still has the permissions the umask gave it.
    package static func unix(
        path: String, mode: UInt32 = 0o660, group: String? = nil, name: String = "unix"
    ) throws(ListenerError) -> Listener {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: address.sun_path),
            !bytes.contains(0)
        else { throw .invalidSocketPath(path: path) }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }

        try removeStaleSocket(at: path, address: address)
        let groupID = try group.map { group throws(ListenerError) in
            try lookUpGroup(group, path: path)
        }
        // Closed by its owner on any failure below.
        let socket = try setUp(path) { () throws(PosixError) in
            try Posix.socket(family: AF_UNIX, type: Int32(SOCK_STREAM.rawValue))
        }
        let fd = socket.rawValue
        try setUp(path) { () throws(PosixError) in
            try withSockAddr(address) { pointer, length throws(PosixError) in
                try Posix.bind(fd, pointer, length)
            }
        }
        do throws(ListenerError) {
            try setUp(path) { () throws(PosixError) in
                try Posix.changeMode(path, to: mode)
            }
            if let groupID {
                do {
                    try Posix.changeGroup(path, to: groupID)
                } catch {
                    throw .syscall(call: "chown (group)", socket: path, errno: error.errno)
                }
            }
            try setUp(path) { () throws(PosixError) in try Posix.listen(fd, backlog: backlog) }
        } catch {
            // Best effort: we bound it, so the file is ours to remove.
            try? Posix.unlink(path)
            throw error
        }
        return Listener(
            name: name, descriptor: socket, family: AF_UNIX, port: nil, path: path,
            socketFile: fileIdentity(path))
    }

    /// Unlinks a socket file at `path` that nobody accepts on; throws if it is live or not a
    /// socket. A missing file is fine.
    private static func removeStaleSocket(at path: String, address: sockaddr_un)
        throws(ListenerError)
    {
        guard let status = try setUp(path, { () throws(PosixError) in try Posix.linkStatus(path) })
        else { return }
        guard status.isSocket else { throw .notASocket(path: path) }
        // Closed by its owner when this returns.
        let probe = try setUp(path) { () throws(PosixError) in
            try Posix.socket(family: AF_UNIX, type: Int32(SOCK_STREAM.rawValue))
        }
        let probeFD = probe.rawValue
        let attempt = withSockAddr(address) { pointer, length in
            Result { () throws(PosixError) in try Posix.connect(probeFD, pointer, length) }
        }
        switch attempt {
        case .success:
            // Connected, or (EAGAIN) a listener whose backlog is full, which is still a listener.
            // EINPROGRESS never happens for Unix sockets.
            throw .socketInUse(path: path)
        case .failure(let error) where error.errno == ECONNREFUSED:
            do {
                try Posix.unlink(path)
            } catch where error.errno == ENOENT {
                return
            } catch {
                throw .syscall(call: "unlink (stale socket)", socket: path, errno: error.errno)
            }
        case .failure(let error) where error.errno == ENOENT:
            return
        case .failure(let error):
            throw .syscall(
                call: "connect (stale socket check)", socket: path, errno: error.errno)
        }
    }

    /// Whether `group` (a name or a numeric id) can be used for a socket, so that a
    /// configuration check finds what binding would fail on.
    package static func groupExists(_ group: String) -> Bool {
        (try? lookUpGroup(group, path: "")) != nil
    }

    /// The gid of `group`, or of a numeric group id (a name wins over a number).
    /// The corresponding C function is `getgrnam_r` (through `Posix.groupID(named:)`).
    private static func lookUpGroup(_ group: String, path: String) throws(ListenerError) -> gid_t {
        let found = Result { () throws(PosixError) in try Posix.groupID(named: group) }
        if case .success(let gid?) = found { return gid }
        if let numeric = gid_t(group) { return numeric }
        if case .failure(let error) = found {
            throw .syscall(call: error.call, socket: path, errno: error.errno)
        }
        throw .unknownGroup(group: group, path: path)
    }

    private static func withSockAddr<Result, Failure: Error>(
        _ address: sockaddr_un,
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withUnsafePointer(to: address) { pointer throws(Failure) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(Failure) in
                try body(raw, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}
