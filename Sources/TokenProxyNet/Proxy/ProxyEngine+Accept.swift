import CLinuxShims
import Dispatch
import Foundation
import Glibc

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
        let stop = listener.acceptPending { fd, peer in admit(fd, peer: peer, from: listener) }
        if stop == .outOfResources { pauseAccepting(listenerIndex: listenerIndex) }
    }

    private func admit(_ fd: Int32, peer: PeerIdentity, from listener: Listener) {
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
            // The socket is new and its send buffer empty: this small write cannot block.
            _ = Self.overloadedResponse.withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            _ = Glibc.close(fd)
            return
        }
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
