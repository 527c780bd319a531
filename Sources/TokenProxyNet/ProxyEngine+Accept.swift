import CLinuxShims
import Dispatch
import Foundation
import Glibc

/// Accepting connections, on the accept queue; each admitted one gets a thread.
extension ProxyEngine {
    /// How long accepting pauses when the process or system is out of descriptors or memory.
    static let acceptPauseNanoseconds: UInt64 = 100_000_000

    /// What a client over `maxConnections` gets before the close.
    static let overloadedResponse: [UInt8] = {
        let body = "tokenproxy: too many connections\n"
        return Array(
            ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8)
    }()

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
                    // ECONNABORTED, EINTR, EPROTO, EPERM concern one connection only.
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
            var on: Int32 = 1
            _ = setsockopt(
                fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
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
                guard state.phase == .running,
                    state.pausedListeners.remove(listenerIndex) != nil
                else { return }
                state.acceptSources[listenerIndex].resume()
            }
        }
    }
}
