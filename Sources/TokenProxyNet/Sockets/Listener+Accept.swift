import CLinuxShims
import Glibc

/// Accepting, shared by the token API server and the proxy engine.
extension Listener {
    /// Why `acceptPending` stopped.
    enum AcceptStop {
        /// The backlog is empty (EAGAIN): wait for the next readable event.
        case drained
        /// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the socket stays
        /// readable, so the caller must pause accepting or it would spin.
        case outOfResources
    }

    /// Accepts until the backlog is empty, non-blocking and close-on-exec, and hands each
    /// connection to `admit` with its peer identity (SO_PEERCRED for Unix sockets) and, on TCP,
    /// `TCP_NODELAY` set — responses go out in one write, and Nagle would only hold them back
    /// (40 ms per keep-alive exchange with delayed ACKs). A connection whose identity cannot be
    /// read is closed.
    /// The corresponding C function is `accept4(2)`.
    func acceptPending(_ admit: (Int32, PeerIdentity) -> Void) -> AcceptStop {
        while true {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    CLinuxShims_accept4(
                        fileDescriptor, $0, &length, CLinuxShims_sock_nonblock_cloexec())
                }
            }
            guard fd >= 0 else {
                switch errno {
                case EAGAIN, EWOULDBLOCK:
                    return .drained
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    return .outOfResources
                default:
                    // EINTR, ECONNABORTED (the client gave up in the backlog), EPROTO, EPERM
                    // (a firewall rule) and friends concern one connection, not the listener.
                    continue
                }
            }
            guard let peer = try? PeerCredentials.identity(of: fd, family: family, address: address)
            else {
                _ = Glibc.close(fd)
                continue
            }
            if family != AF_UNIX {
                var on: Int32 = 1
                _ = setsockopt(
                    fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            }
            admit(fd, peer)
        }
    }
}
