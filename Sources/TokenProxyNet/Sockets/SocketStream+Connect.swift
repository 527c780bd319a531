import Glibc
import TokenProxyPosix

extension SocketStream {
    /// Resolves `host` and connects to the first address that answers before `deadline`.
    ///
    /// Addresses are tried one after another in resolver order, all sharing the one deadline.
    /// Throws `NetError.resolve`, `NetError.connect` with the last address's errno, or
    /// `NetError.timedOut("connect to host:port")`. The socket gets `TCP_NODELAY` (we write each
    /// message in one call, so Nagle would only add latency) and `SO_KEEPALIVE`.
    /// The corresponding C functions are `getaddrinfo(3)`, `socket(2)` and `connect(2)`.
    package static func connect(host: String, port: Int, deadline: ContinuousClock.Instant) throws
        -> SocketStream
    {
        let peer = SocketAddress.displayName(host: host, port: port)
        guard (1...65535).contains(port) else {
            throw NetError.connect(host: host, port: port, errno: EINVAL)
        }
        var lastErrno: Int32 = ECONNREFUSED
        for address in try SocketAddress.resolve(host: host, port: port) {
            // Closed by its owner unless handed to the stream.
            let socket = try openSocket(family: address.family, protocol: address.socketProtocol)
            try setOption(socket.rawValue, level: Int32(IPPROTO_TCP), option: TCP_NODELAY)
            try setOption(socket.rawValue, level: SOL_SOCKET, option: SO_KEEPALIVE)
            if let errno = try connectNonBlocking(
                socket.rawValue, to: address, deadline: deadline, operation: "connect to \(peer)")
            {
                lastErrno = errno
                continue
            }
            return SocketStream(descriptor: socket, peer: peer)
        }
        throw NetError.connect(host: host, port: port, errno: lastErrno)
    }

    /// Connects to a Unix stream socket at `path`.
    ///
    /// Throws `NetError.connectUnixSocket` (for example `ENOENT` when nothing listens there,
    /// `EACCES` without write permission on the socket) or `NetError.timedOut`.
    /// The corresponding C function is `connect(2)`.
    package static func connect(unixPath path: String, deadline: ContinuousClock.Instant) throws
        -> SocketStream
    {
        let address = try SocketAddress.unix(path: path)
        let socket = try openSocket(family: AF_UNIX, protocol: 0)
        if let errno = try connectNonBlocking(
            socket.rawValue, to: address, deadline: deadline,
            operation: "connect to Unix socket \(path)")
        {
            throw NetError.connectUnixSocket(path: path, errno: errno)
        }
        return SocketStream(descriptor: socket, peer: path)
    }

    /// A new non-blocking, close-on-exec stream socket.
    /// The corresponding C function is `socket(2)`.
    private static func openSocket(family: Int32, protocol socketProtocol: Int32) throws(NetError)
        -> FileDescriptor
    {
        try NetError.mapping { () throws(PosixError) in
            try Posix.socket(
                family: family, type: Int32(SOCK_STREAM.rawValue), protocol: socketProtocol)
        }
    }

    private static func setOption(_ fd: Int32, level: Int32, option: Int32) throws(NetError) {
        try NetError.mapping { () throws(PosixError) in
            try Posix.setSocketOption(fd, level: level, option: option, value: 1)
        }
    }

    /// Connects the non-blocking `fd`, polling for completion until `deadline`.
    ///
    /// Returns nil once connected, or the errno of a refused or failed attempt (so the caller
    /// can try the next address). A Unix socket with a full backlog answers `EAGAIN` instead of
    /// completing later, so that case is retried every few milliseconds until the deadline.
    private static func connectNonBlocking(
        _ fd: Int32, to address: SocketAddress, deadline: ContinuousClock.Instant, operation: String
    ) throws(NetError) -> Int32? {
        while true {
            let attempt = address.withSockAddr { pointer, length in
                Result { () throws(PosixError) in try Posix.connect(fd, pointer, length) }
            }
            let result: SyscallResult<Void>
            switch attempt {
            case .success(let value): result = value
            case .failure(let error): return error.errno
            }
            switch result {
            case .done:
                return nil
            case .wouldBlock where address.family == AF_UNIX:
                // EAGAIN: the listener's backlog is full; poll cannot tell us when it drains.
                guard Poll.millisecondsUntil(deadline) != nil else {
                    throw .timedOut(operation: operation)
                }
                usleep(5_000)
            case .wouldBlock:
                // EINPROGRESS: writable means the attempt finished; SO_ERROR says how.
                try Poll.wait(fd: fd, for: Int16(POLLOUT), deadline: deadline, operation: operation)
                let error = try NetError.mapping { () throws(PosixError) in
                    try Posix.socketOption(fd, level: SOL_SOCKET, option: SO_ERROR)
                }
                return error == 0 ? nil : error
            }
        }
    }
}
