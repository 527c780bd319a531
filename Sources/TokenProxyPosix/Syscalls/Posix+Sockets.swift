import Glibc

/// Creating, binding, connecting and configuring sockets.
extension Posix {
    /// A new non-blocking, close-on-exec socket of `type` (`SOCK_STREAM`, …).
    ///
    /// The corresponding C function is `socket`.
    package static func socket(family: Int32, type: Int32, protocol socketProtocol: Int32 = 0)
        throws(PosixError) -> FileDescriptor
    {
        let flags = LinuxShims.nonBlockingCloseOnExec
        let fd = try syscallNonBlocking("socket") {
            Glibc.socket(family, type | flags, socketProtocol)
        }
        return FileDescriptor(adopting: fd)
    }

    /// Binds `fd` to `address`. The corresponding C function is `bind`.
    package static func bind(
        _ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t
    ) throws(PosixError) {
        try syscallNonBlocking("bind") { Glibc.bind(fd, address, length) }
    }

    /// Marks `fd` as listening. The corresponding C function is `listen`.
    package static func listen(_ fd: Int32, backlog: Int32) throws(PosixError) {
        try syscallNonBlocking("listen") { Glibc.listen(fd, backlog) }
    }

    /// Accepts one connection as a non-blocking, close-on-exec descriptor, filling in the
    /// peer's address; nil when the backlog is empty (`EAGAIN`).
    ///
    /// The corresponding C function is `accept4` with `SOCK_NONBLOCK | SOCK_CLOEXEC`.
    package static func accept(
        _ fd: Int32, address: UnsafeMutablePointer<sockaddr>,
        length: UnsafeMutablePointer<socklen_t>
    ) throws(PosixError) -> FileDescriptor? {
        let result = try syscall("accept4") { LinuxShims.accept(fd, address, length) }
        switch result {
        case .done(let accepted): return FileDescriptor(adopting: accepted)
        case .wouldBlock: return nil
        }
    }

    /// Starts connecting `fd` to `address`. On a non-blocking socket `.wouldBlock` means
    /// `EINPROGRESS` (poll for writability, then read `SO_ERROR`) or, for a Unix socket whose
    /// listener's backlog is full, `EAGAIN`.
    ///
    /// The corresponding C function is `connect`.
    package static func connect(
        _ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t
    ) throws(PosixError) -> SyscallResult<Void> {
        switch try syscall("connect", { Glibc.connect(fd, address, length) }) {
        case .done: return .done(())
        case .wouldBlock: return .wouldBlock
        }
    }

    /// Shuts down reading, writing or both (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`); wakes a thread
    /// blocked on `fd`. The corresponding C function is `shutdown`.
    package static func shutdown(_ fd: Int32, how: Int32) throws(PosixError) {
        try syscallNonBlocking("shutdown") { Glibc.shutdown(fd, how) }
    }

    /// Sets an integer socket option. The corresponding C function is `setsockopt`.
    package static func setSocketOption(_ fd: Int32, level: Int32, option: Int32, value: Int32)
        throws(PosixError)
    {
        var value = value
        try syscallNonBlocking("setsockopt") {
            setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Acknowledges what arrives on the TCP socket `fd` at once instead of delaying the ACK.
    ///
    /// Linux delays ACKs on a connection it thinks is interactive ("pingpong": we just sent
    /// data, such as a request, so an answer might carry the ACK). A peer that writes a reply
    /// in two small segments with Nagle on (Python's `http.server` writes the head, then the
    /// body) holds the second until the first is acknowledged, so each reply on a reused
    /// connection waits for our delayed-ACK timer, about 40 ms. The option is not sticky: the
    /// kernel returns to delayed ACKs by itself, so set it again before each reply is read
    /// (tcp(7)). Setting it also sends an ACK already due.
    ///
    /// The corresponding C function is `setsockopt` with `IPPROTO_TCP`, `TCP_QUICKACK`.
    package static func setQuickAck(_ fd: Int32) throws(PosixError) {
        try setSocketOption(fd, level: Int32(IPPROTO_TCP), option: TCP_QUICKACK, value: 1)
    }

    /// Reads an integer socket option (`SO_ERROR`, `SO_TYPE`, …). The corresponding C function
    /// is `getsockopt`.
    package static func socketOption(_ fd: Int32, level: Int32, option: Int32)
        throws(PosixError) -> Int32
    {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        try syscallNonBlocking("getsockopt") { getsockopt(fd, level, option, &value, &length) }
        return value
    }

    /// The address `fd` is bound to. The corresponding C function is `getsockname`.
    package static func socketName(_ fd: Int32) throws(PosixError) -> sockaddr_storage {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        try syscallNonBlocking("getsockname") {
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getsockname(fd, $0, &length)
                }
            }
        }
        return storage
    }

    /// The pid, uid and gid the kernel recorded for the peer of a connected Unix socket when
    /// it called `connect`; the peer cannot forge them.
    ///
    /// The corresponding C function is `getsockopt` with `SO_PEERCRED`.
    package static func peerCredentials(_ fd: Int32) throws(PosixError)
        -> (pid: pid_t, uid: uid_t, gid: gid_t)
    {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        try syscallNonBlocking("getsockopt(SO_PEERCRED)") {
            LinuxShims.peerCredentials(fd, &pid, &uid, &gid)
        }
        return (pid, uid, gid)
    }

    /// Reads and updates descriptor flags: adds `O_NONBLOCK` to the status flags and
    /// `FD_CLOEXEC` to the descriptor flags (for a socket inherited from systemd).
    ///
    /// The corresponding C function is `fcntl`.
    package static func makeNonBlockingAndCloseOnExec(_ fd: Int32) throws(PosixError) {
        let flags = try syscallNonBlocking("fcntl") { fcntl(fd, F_GETFL) }
        try syscallNonBlocking("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        try syscallNonBlocking("fcntl") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }
}
