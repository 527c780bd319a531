import CLinuxShims
import Dispatch
import Glibc

/// Accepting connections, on the accept queue.
extension HTTPServer {

    /// Accepts until the backlog is empty (EAGAIN); pauses this listener when out of
    /// descriptors or memory.
    func acceptConnections(listenerIndex: Int) {
        let listener = listeners[listenerIndex]
        let stop = listener.acceptPending { fd, peer in admit(fd, peer: peer, from: listener) }
        if stop == .outOfResources { pauseAccepting(listenerIndex: listenerIndex) }
    }

    private func admit(_ fd: Int32, peer: PeerIdentity, from listener: Listener) {
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
            // Over maxConnections (or shutting down): close at once, see
            // `HTTPServerConfiguration.maxConnections`.
            _ = Glibc.close(fd)
            return
        }
        connection.start()
    }

    private func pauseAccepting(listenerIndex: Int) {
        acceptor.pause(listenerIndex)
    }
}
