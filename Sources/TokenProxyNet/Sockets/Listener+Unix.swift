import CLinuxShims
import Glibc

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
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | CLinuxShims_sock_nonblock_cloexec(), 0)
        guard fd >= 0 else { throw .syscall(call: "socket", socket: path, errno: errno) }
        var bound = false
        do throws(ListenerError) {
            guard withSockAddr(address, { bind(fd, $0, $1) }) == 0 else {
                throw .syscall(call: "bind", socket: path, errno: errno)
            }
            bound = true
            guard chmod(path, mode_t(mode)) == 0 else {
                throw .syscall(call: "chmod", socket: path, errno: errno)
            }
            if let groupID, chown(path, uid_t.max, groupID) != 0 {
                // uid_t.max is (uid_t)-1: leave the owner unchanged.
                throw .syscall(call: "chown (group)", socket: path, errno: errno)
            }
            guard listen(fd, backlog) == 0 else {
                throw .syscall(call: "listen", socket: path, errno: errno)
            }
            return Listener(
                name: name, fileDescriptor: fd, family: AF_UNIX, port: nil, path: path,
                socketFile: fileIdentity(path))
        } catch {
            _ = Glibc.close(fd)
            if bound { unlink(path) }
            throw error
        }
    }

    /// Unlinks a socket file at `path` that nobody accepts on; throws if it is live or not a
    /// socket. A missing file is fine.
    private static func removeStaleSocket(at path: String, address: sockaddr_un)
        throws(ListenerError)
    {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else { throw .syscall(call: "lstat", socket: path, errno: errno) }
            return
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path: path) }
        let probe = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | CLinuxShims_sock_nonblock_cloexec(), 0)
        guard probe >= 0 else { throw .syscall(call: "socket", socket: path, errno: errno) }
        defer { _ = Glibc.close(probe) }
        var result: Int32
        repeat {
            result = withSockAddr(address) { connect(probe, $0, $1) }
        } while result != 0 && errno == EINTR
        if result == 0 { throw .socketInUse(path: path) }
        switch errno {
        case ECONNREFUSED:
            guard unlink(path) == 0 || errno == ENOENT else {
                throw .syscall(call: "unlink (stale socket)", socket: path, errno: errno)
            }
        case EAGAIN:
            // A listener whose backlog is full is still a listener.
            throw .socketInUse(path: path)
        case ENOENT:
            return
        default:
            throw .syscall(call: "connect (stale socket check)", socket: path, errno: errno)
        }
    }

    /// Whether `group` (a name or a numeric id) can be used for a socket, so that a
    /// configuration check finds what binding would fail on.
    package static func groupExists(_ group: String) -> Bool {
        (try? lookUpGroup(group, path: "")) != nil
    }

    /// The gid of `group`, or of a numeric group id. The corresponding C function is
    /// `getgrnam_r`.
    private static func lookUpGroup(_ group: String, path: String) throws(ListenerError) -> gid_t {
        var entry = GroupEntry()
        var result: UnsafeMutablePointer<GroupEntry>?
        var buffer = [CChar](repeating: 0, count: 1024)
        while true {
            let status = buffer.withUnsafeMutableBufferPointer { storage in
                getgrnam_r(group, &entry, storage.baseAddress, storage.count, &result)
            }
            if status == ERANGE && buffer.count < 1 << 20 {
                buffer = [CChar](repeating: 0, count: buffer.count * 4)
                continue
            }
            if status == 0, let result { return result.pointee.gr_gid }
            if let numeric = gid_t(group) { return numeric }
            guard status == 0 || status == ENOENT || status == ESRCH else {
                throw .syscall(call: "getgrnam_r", socket: path, errno: status)
            }
            throw .unknownGroup(group: group, path: path)
        }
    }

    private static func withSockAddr<Result>(
        _ address: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result
    ) -> Result {
        withUnsafePointer(to: address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}

private typealias GroupEntry = Glibc.group
