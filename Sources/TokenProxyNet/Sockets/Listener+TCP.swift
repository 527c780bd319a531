import Glibc
import TokenProxyPosix

extension Listener {
    /// Listens on `host` (an IP literal such as `127.0.0.1` or `::1`, or a name resolved once)
    /// and `port`; port 0 lets the kernel pick one, read it from `port` afterwards.
    ///
    /// SO_REUSEADDR lets a restarted daemon bind while old connections sit in TIME_WAIT. An IPv6
    /// listener is IPv6-only, so `::1` never also answers on IPv4. The socket has SO_REUSEPORT,
    /// so that each event loop can get a socket of its own on the same address
    /// (`loopSockets(count:)`, Listener+ReusePort.swift); an address something already listens
    /// on is refused all the same (`ListenerError.syscall` with EADDRINUSE names it).
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
        // First an exclusive bind (no SO_REUSEPORT): it fails with EADDRINUSE when anything
        // listens on the address — another process, or another listener of ours — which the
        // SO_REUSEPORT sockets below would otherwise join and share connections with. It also
        // picks the port for port 0. Closed before the shared sockets bind the same address.
        let bound = try probeBind(address, display: display)
        let socket = try reusePortSocket(bound, family: address.family, display: display)
        let (family, boundPort) = try setUp(display) { () throws(PosixError) in
            try boundAddress(of: socket.rawValue)
        }
        return Listener(
            name: name, descriptor: socket, family: family, port: boundPort, path: nil,
            socketFile: nil, reusePort: bound)
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
