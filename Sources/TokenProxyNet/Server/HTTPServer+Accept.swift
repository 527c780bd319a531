import Dispatch
import Glibc
import TokenProxyPosix

/// Accepting connections, on the accept queue.
extension HTTPServer {

    /// Accepts until the backlog is empty (EAGAIN); pauses this listener when out of
    /// descriptors or memory.
    func acceptConnections(listenerIndex: Int) {
        let listener = listeners[listenerIndex]
        let stop = listener.acceptPending { socket, peer in
            admit(socket, peer: peer, from: listener)
        }
        if stop == .outOfResources { pauseAccepting(listenerIndex: listenerIndex) }
    }

    private func admit(
        _ socket: consuming FileDescriptor, peer: PeerIdentity, from listener: Listener
    ) {
        let fd = socket.rawValue
        let connection = state.withLock { state -> ServerConnection? in
            guard state.phase == .running,
                state.connections.count < configuration.maxConnections
            else { return nil }
            state.nextConnectionID += 1
            let connection = ServerConnection(
                id: state.nextConnectionID, fileDescriptor: fd, peer: peer,
                listenerName: listener.name, handler: handler, configuration: configuration,
                loop: eventLoops[state.nextConnectionID % eventLoops.count]
            ) { [weak self] id in
                self?.connectionClosed(id)
            }
            state.connections[connection.id] = connection
            return connection
        }
        guard let connection else {
            // Over maxConnections (or shutting down): `socket` closes at once, see
            // `HTTPServerConfiguration.maxConnections`.
            return
        }
        // The connection closes it from now on.
        _ = socket.release()
        connection.start()
    }

    private func pauseAccepting(listenerIndex: Int) {
        acceptor.pause(listenerIndex)
    }
}
