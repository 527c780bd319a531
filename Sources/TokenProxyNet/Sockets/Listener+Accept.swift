import Glibc
import TokenProxyPosix

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

    /// Accepts from `socket` (the listener's own, or its loop's socket on the same address,
    /// `loopSockets(count:)`) until the backlog is empty, non-blocking and close-on-exec, and hands each
    /// connection to `admit` with its peer identity (SO_PEERCRED for Unix sockets) and, on TCP,
    /// `TCP_NODELAY` set — responses go out in one write, and Nagle would only hold them back
    /// (40 ms per keep-alive exchange with delayed ACKs). A connection whose identity cannot be
    /// read is closed (by its owner).
    /// The corresponding C function is `accept4(2)`.
    func acceptPending(
        from socket: Int32, _ admit: (consuming FileDescriptor, PeerIdentity) -> Void
    ) -> AcceptStop {
        while true {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let attempt = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    Result { () throws(PosixError) in
                        try Posix.accept(socket, address: raw, length: &length)
                    }
                }
            }
            let accepted: FileDescriptor
            switch consume attempt {
            case .success(let descriptor?):
                accepted = descriptor
            case .success(nil):
                return .drained
            case .failure(let error):
                switch error.errno {
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    return .outOfResources
                default:
                    // ECONNABORTED (the client gave up in the backlog), EPROTO, EPERM (a
                    // firewall rule) and friends concern one connection, not the listener.
                    continue
                }
            }
            guard
                let peer = try? PeerCredentials.identity(
                    of: accepted.rawValue, family: family, address: address)
            else { continue }
            if family != AF_UNIX {
                // Best effort: a connection that cannot take it is served anyway.
                try? Posix.setSocketOption(
                    accepted.rawValue, level: Int32(IPPROTO_TCP), option: TCP_NODELAY, value: 1)
            }
            admit(accepted, peer)
        }
    }
}
