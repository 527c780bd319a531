import CLinuxShims
import Dispatch
import Glibc

/// Accepting connections, on the accept queue.
extension HTTPServer {
    /// How long accepting pauses when the process or system is out of descriptors or memory:
    /// the listening socket stays readable, so retrying at once would spin.
    static let acceptPauseNanoseconds: UInt64 = 100_000_000

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
