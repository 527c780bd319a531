import Foundation

/// A `ProxyConnection` on a thread of its own, as the `ConnectionShell` sees it: `start` spawns
/// the thread, which serves the client with blocking I/O and reports to the shell when done.
///
/// The thread per connection is the proxy's one difference from the token API server, and it
/// lives only here: moving the proxy onto the event loops replaces this adapter, not the shell.
final class ProxyConnectionThread: ShellConnection {
    let connection: ProxyConnection
    private let finished: @Sendable () -> Void
    private let stackSize: Int

    init(_ admission: ShellAdmission, engine: ProxyEngine) {
        self.connection = ProxyConnection(
            id: admission.id,
            client: SocketStream(
                adopting: admission.fileDescriptor, peer: admission.peer.description),
            peer: admission.peer, listenerName: admission.listener.name, engine: engine)
        self.finished = admission.finished
        self.stackSize = engine.configuration.threadStackSize
    }

    func start() {
        let thread = Thread { [connection, finished] in
            connection.run()
            finished()
        }
        thread.name = "tokenproxy.proxy.\(connection.id)"
        thread.stackSize = stackSize
        thread.start()
    }

    func requestShutdown() {
        connection.requestShutdown()
    }

    func forceClose() {
        connection.forceClose()
    }
}
