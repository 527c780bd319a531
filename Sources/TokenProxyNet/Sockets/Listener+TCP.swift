import Glibc
import TokenProxyPosix

extension Listener {
    /// Listens on `host` (an IP literal such as `127.0.0.1` or `::1`, or a name resolved once)
    /// and `port`; port 0 lets the kernel pick one, read it from `port` afterwards.
    ///
    /// SO_REUSEADDR lets a restarted daemon bind while old connections sit in TIME_WAIT. An IPv6
    /// listener is IPv6-only, so `::1` never also answers on IPv4.
    package static func tcp(host: String, port: Int, name: String = "tcp") throws(ListenerError)
        -> Listener
    {
        guard (0...65535).contains(port) else { throw .invalidPort(port: port) }
        let addresses: [SocketAddress]
        do {
            addresses = try SocketAddress.resolve(host: host, port: port)
        } catch {
            if case .resolve(_, let message) = error {
                throw .resolve(host: host, message: message)
            }
            throw .resolve(host: host, message: error.description)
        }
        let address = addresses[0]
        let display = SocketAddress.displayName(host: host, port: port)
        // Closed by its owner on any failure below.
        let socket = try setUp(display) { () throws(PosixError) in
            try Posix.socket(family: address.family, type: Int32(SOCK_STREAM.rawValue))
        }
        let fd = socket.rawValue
        try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, socket: display)
        if address.family == AF_INET6 {
            try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, socket: display)
        }
        let (family, boundPort) = try setUp(display) { () throws(PosixError) in
            try address.withSockAddr { pointer, length throws(PosixError) in
                try Posix.bind(fd, pointer, length)
            }
            try Posix.listen(fd, backlog: backlog)
            return try boundAddress(of: fd)
        }
        return Listener(
            name: name, descriptor: socket, family: family, port: boundPort, path: nil,
            socketFile: nil)
    }

    /// Adopts a listening socket passed by systemd socket activation (`sd_listen_fds`), named by
    /// its `FileDescriptorName=`. It must be a stream socket in the listening state
    /// (SO_ACCEPTCONN); it is made non-blocking and close-on-exec. Its socket file, if any,
    /// belongs to systemd and is never removed.
    package static func inherited(fileDescriptor fd: Int32, name: String) throws(ListenerError)
        -> Listener
    {
        let type: Int32
        do {
            type = try Posix.socketOption(fd, level: SOL_SOCKET, option: SO_TYPE)
        } catch {
            throw .notListening(
                name: name, fileDescriptor: fd, reason: "not a socket (\(error.reason))")
        }
        guard type == Int32(SOCK_STREAM.rawValue) else {
            throw .notListening(name: name, fileDescriptor: fd, reason: "not a stream socket")
        }
        guard (try? Posix.socketOption(fd, level: SOL_SOCKET, option: SO_ACCEPTCONN)) == 1 else {
            throw .notListening(name: name, fileDescriptor: fd, reason: "not listening")
        }
        let (family, port) = try setUp("fd \(fd)") { () throws(PosixError) in
            let bound = try boundAddress(of: fd)
            try Posix.makeNonBlockingAndCloseOnExec(fd)
            return bound
        }
        return Listener(
            name: name, descriptor: FileDescriptor(adopting: fd), family: family,
            port: family == AF_UNIX ? nil : port, path: nil, socketFile: nil)
    }
}
