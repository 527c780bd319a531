import Dispatch
import Foundation
import Glibc
import TokenProxyPosix

/// Accepting connections, on the accept queue; each admitted one gets a thread.
extension ProxyEngine {

    /// What a client over `maxConnections` gets before the close.
    static let overloadedResponse: [UInt8] = {
        let body = "tokenproxy: too many connections\n"
        return Array(
            ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8)
    }()

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
        let connection = state.withLock { state -> ProxyConnection? in
            guard state.phase == .running,
                state.connections.count < configuration.maxConnections
            else { return nil }
            state.nextConnectionID += 1
            let connection = ProxyConnection(
                id: state.nextConnectionID,
                client: SocketStream(adopting: fd, peer: peer.description), peer: peer,
                listenerName: listener.name, engine: self)
            state.connections[connection.id] = connection
            return connection
        }
        guard let connection else {
            // The socket is new and its send buffer empty: this small write cannot block. The
            // client may be gone already; `socket` closes when this returns.
            _ = Self.overloadedResponse.withUnsafeBytes {
                try? Posix.send(fd, $0, flags: Int32(MSG_DONTWAIT))
            }
            return
        }
        // The connection's stream closes it from now on.
        _ = socket.release()
        let thread = Thread { [self] in
            connection.run()
            connectionFinished(connection.id)
        }
        thread.name = "tokenproxy.proxy.\(connection.id)"
        thread.stackSize = configuration.threadStackSize
        thread.start()
    }

    private func pauseAccepting(listenerIndex: Int) {
        acceptor.pause(listenerIndex)
    }
}
