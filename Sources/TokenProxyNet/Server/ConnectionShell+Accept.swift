import Glibc

/// Accepting, on the accept queue.
extension ConnectionShell {
    /// Accepts until the backlog is empty (EAGAIN), admitting and starting each connection;
    /// pauses this listener when out of descriptors or memory.
    func acceptConnections(
        listenerIndex: Int, makeConnection: (ShellAdmission) -> Connection
    ) {
        let listener = listeners[listenerIndex]
        let stop = listener.acceptPending { fd, peer in
            admit(fd, peer: peer, from: listener, makeConnection: makeConnection)?.start()
        }
        if stop == .outOfResources { acceptor.pause(listenerIndex) }
    }

    /// Sends `overloadResponse` (if any) and closes `fd`.
    func refuse(_ fd: Int32) {
        if let overloadResponse {
            // The socket is new and its send buffer empty: this small write cannot block.
            _ = overloadResponse.withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
        }
        _ = Glibc.close(fd)
    }
}
