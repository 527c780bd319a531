import Glibc
import TokenProxyPosix

/// One listening socket per event loop on one TCP address (`SO_REUSEPORT`).
///
/// With one socket watched by every loop, the first loop the kernel wakes (`EPOLLEXCLUSIVE`)
/// accepts until the backlog is empty and keeps the whole burst: measured, all 16 connections
/// of a burst landed on one of two loops. With a socket per loop in a reuseport group, the
/// kernel hashes each connection's 4-tuple to one socket, so connections spread over the loops
/// with no hand-off between threads (nginx's `listen … reuseport`).
///
/// What it costs: closing one socket of the group drops the connections waiting in its queue,
/// so the sockets live and die with their `Listener` (a reload that keeps an address keeps the
/// listener and all its sockets). And the kernel lets any process of the same effective uid
/// join the group by binding the same address with SO_REUSEPORT (never another uid): it would
/// receive a share of the connections. `tcp(host:port:)` refuses an address something already
/// listens on with an exclusive bind first, so only a process that binds in the moment between
/// that check and our bind could join.
extension Listener {
    /// The socket each of `count` loops accepts from: for a TCP listener we bound, the first is
    /// the listener's own and the others are made now (same address, SO_REUSEPORT), once; for a
    /// Unix or inherited socket (or a sibling the kernel refused, e.g. out of descriptors), every
    /// loop shares the one socket — `isShared` tells the acceptors so.
    func loopSockets(count: Int) -> [Int32] {
        guard count > 1, let address = reusePortAddress else {
            return Array(repeating: fileDescriptor, count: max(count, 1))
        }
        let made = siblings.withLock { siblings -> [Int32] in
            guard !siblings.closed else { return [] }
            while siblings.sockets.count < count - 1 {
                guard
                    let socket = try? Self.reusePortSocket(
                        address, family: family, display: name)
                else { break }
                siblings.sockets.append(socket.release())
            }
            return siblings.sockets
        }
        let sockets = [fileDescriptor] + made.prefix(count - 1)
        return sockets + Array(repeating: fileDescriptor, count: count - sockets.count)
    }

    /// Whether `socket` (from `loopSockets(count:)`) is watched by several loops, which then
    /// spread its connections themselves (`ConnectionShell`).
    static func isShared(_ socket: Int32, in sockets: [Int32]) -> Bool {
        sockets.lazy.filter { $0 == socket }.count > 1
    }

    /// Binds a socket to `address` without SO_REUSEPORT and returns the address it got (the
    /// port picked when it was 0), closing the socket. Fails with EADDRINUSE when anything
    /// listens on the address.
    static func probeBind(_ address: SocketAddress, display: String) throws(ListenerError)
        -> sockaddr_storage
    {
        let probe = try openTCPSocket(family: address.family, display: display)
        return try setUp(display) { () throws(PosixError) in
            try address.withSockAddr { pointer, length throws(PosixError) in
                try Posix.bind(probe.rawValue, pointer, length)
            }
            return try Posix.socketName(probe.rawValue)
        }
    }

    /// A socket listening on `address` with SO_REUSEPORT (and the listen backlog).
    static func reusePortSocket(_ address: sockaddr_storage, family: Int32, display: String)
        throws(ListenerError) -> FileDescriptor
    {
        let socket = try openTCPSocket(family: family, display: display)
        try setOption(socket.rawValue, SOL_SOCKET, SO_REUSEPORT, 1, socket: display)
        let length =
            family == AF_INET6
            ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
        try setUp(display) { () throws(PosixError) in
            try withUnsafePointer(to: address) { pointer throws(PosixError) in
                // sockaddr_storage is laid out to be read as any sockaddr_*.
                try Posix.bind(
                    socket.rawValue,
                    UnsafeRawPointer(pointer).assumingMemoryBound(to: sockaddr.self),
                    socklen_t(length))
            }
            try Posix.listen(socket.rawValue, backlog: backlog)
        }
        return socket
    }

    /// A TCP socket with SO_REUSEADDR (a restarted daemon binds while old connections sit in
    /// TIME_WAIT) and, for IPv6, IPV6_V6ONLY.
    private static func openTCPSocket(family: Int32, display: String) throws(ListenerError)
        -> FileDescriptor
    {
        let socket = try setUp(display) { () throws(PosixError) in
            try Posix.socket(family: family, type: Int32(SOCK_STREAM.rawValue))
        }
        try setOption(socket.rawValue, SOL_SOCKET, SO_REUSEADDR, 1, socket: display)
        if family == AF_INET6 {
            try setOption(socket.rawValue, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, socket: display)
        }
        return socket
    }
}
