import CLinuxShims
import Dispatch
import Glibc

/// Accepting connections, on the accept queue.
extension HTTPServer {
    /// How long accepting pauses when the process or system is out of descriptors or memory:
    /// the listening socket stays readable, so retrying at once would spin.
    static let acceptPauseNanoseconds: UInt64 = 100_000_000

    /// Accepts until the backlog is empty (EAGAIN).
    func acceptConnections(listenerIndex: Int) {
        let listener = listeners[listenerIndex]
        while true {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    CLinuxShims_accept4(
                        listener.fileDescriptor, $0, &length, CLinuxShims_sock_nonblock_cloexec())
                }
            }
            guard fd >= 0 else {
                switch errno {
                case EAGAIN, EWOULDBLOCK:
                    return
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    pauseAccepting(listenerIndex: listenerIndex)
                    return
                default:
                    // EINTR, ECONNABORTED (the client gave up in the backlog), EPROTO, EPERM
                    // (a firewall rule) and friends concern one connection, not the listener.
                    continue
                }
            }
            admit(fd, address: address, from: listener)
        }
    }

    private func admit(_ fd: Int32, address: sockaddr_storage, from listener: Listener) {
        guard
            let peer = try? PeerCredentials.identity(
                of: fd, family: listener.family, address: address)
        else {
            _ = Glibc.close(fd)
            return
        }
        if listener.family != AF_UNIX {
            // Responses go out in one write; Nagle would only hold them back (40 ms per
            // keep-alive exchange with delayed ACKs).
            var on: Int32 = 1
            _ = setsockopt(
                fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        let connection = state.withLock { state -> ServerConnection? in
            guard state.phase == .running,
                state.connections.count < configuration.maxConnections
            else { return nil }
            state.nextConnectionID += 1
            let connection = ServerConnection(
                id: state.nextConnectionID, fileDescriptor: fd, peer: peer,
                listenerName: listener.name, handler: handler, configuration: configuration,
                targetQueue: eventLoops[state.nextConnectionID % eventLoops.count]
            ) { [weak self] id in
                self?.connectionClosed(id)
            }
            state.connections[connection.id] = connection
            return connection
        }
        guard let connection else {
            // Over maxConnections (or shutting down): close at once, see
            // `HTTPServerConfiguration.maxConnections`.
            _ = Glibc.close(fd)
            return
        }
        connection.start()
    }

    private func pauseAccepting(listenerIndex: Int) {
        state.withLock { state in
            guard state.phase == .running, !state.pausedListeners.contains(listenerIndex) else {
                return
            }
            state.pausedListeners.insert(listenerIndex)
            state.acceptSources[listenerIndex].suspend()
        }
        acceptQueue.asyncAfter(
            deadline: DispatchTime(
                uptimeNanoseconds: DispatchTime.now().uptimeNanoseconds
                    + Self.acceptPauseNanoseconds)
        ) { [self] in
            state.withLock { state in
                // Shutdown resumes paused sources itself, to let their cancellation through.
                guard state.phase == .running,
                    state.pausedListeners.remove(listenerIndex) != nil
                else { return }
                state.acceptSources[listenerIndex].resume()
            }
        }
    }
}
