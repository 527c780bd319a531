import CLinuxShims
import Glibc

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
        let fd = socket(
            address.family, Int32(SOCK_STREAM.rawValue) | CLinuxShims_sock_nonblock_cloexec(), 0)
        guard fd >= 0 else { throw .syscall(call: "socket", socket: display, errno: errno) }
        do throws(ListenerError) {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, socket: display)
            if address.family == AF_INET6 {
                try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, socket: display)
            }
            let bound = address.withSockAddr { bind(fd, $0, $1) }
            guard bound == 0 else { throw .syscall(call: "bind", socket: display, errno: errno) }
            guard listen(fd, backlog) == 0 else {
                throw .syscall(call: "listen", socket: display, errno: errno)
            }
            guard let (family, boundPort) = boundAddress(of: fd) else {
                throw .syscall(call: "getsockname", socket: display, errno: errno)
            }
            return Listener(
                name: name, fileDescriptor: fd, family: family, port: boundPort, path: nil,
                socketFile: nil)
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    /// Adopts a listening socket passed by systemd socket activation (`sd_listen_fds`), named by
    /// its `FileDescriptorName=`. It must be a stream socket in the listening state
    /// (SO_ACCEPTCONN); it is made non-blocking and close-on-exec. Its socket file, if any,
    /// belongs to systemd and is never removed.
    package static func inherited(fileDescriptor fd: Int32, name: String) throws(ListenerError)
        -> Listener
    {
        guard let type = option(fd, SOL_SOCKET, SO_TYPE) else {
            throw .notListening(
                name: name, fileDescriptor: fd,
                reason: "not a socket (\(String(cString: strerror(errno))))")
        }
        guard type == Int32(SOCK_STREAM.rawValue) else {
            throw .notListening(name: name, fileDescriptor: fd, reason: "not a stream socket")
        }
        guard option(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1 else {
            throw .notListening(name: name, fileDescriptor: fd, reason: "not listening")
        }
        guard let (family, port) = boundAddress(of: fd) else {
            throw .syscall(call: "getsockname", socket: "fd \(fd)", errno: errno)
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0,
            fcntl(fd, F_SETFD, FD_CLOEXEC) == 0
        else { throw .syscall(call: "fcntl", socket: "fd \(fd)", errno: errno) }
        return Listener(
            name: name, fileDescriptor: fd, family: family,
            port: family == AF_UNIX ? nil : port, path: nil, socketFile: nil)
    }
}
