import FoundationEssentials
import TokenProxyCore

/// An HTTP/1.1 server on Unix and TCP listeners, driven by epoll event loops (no SwiftNIO).
///
/// It runs one `EventLoop` per CPU the process may use (`CPUBudget`). Every loop accepts on
/// the listeners (a TCP address has one socket per loop, the Unix socket is shared and its
/// connections spread to the least busy loop, see `LoopAcceptors`); the loop a connection
/// (`ServerConnection`) lands on keeps it, and reads, parses, calls the handler and writes on its own
/// thread, so a slow or stuck client never holds up another; its `ConnectionShell` keeps the
/// connection table and its limit. Requests on a connection are answered strictly in order;
/// bodies are buffered up to `maxRequestBodyBytes`. Handlers are called on the loop's thread
/// and must not block it: answer inline when the answer is at hand (the fast path), else hand
/// the work to a task and call `respond` from there.
///
/// ```swift
/// let server = HTTPServer(
///     listeners: [try .unix(path: "/run/tokenproxy/tokenproxy.sock", mode: 0o660)],
///     handler: api)
/// server.start()
/// ...
/// await server.shutdown(gracePeriod: .seconds(5))
/// ```
package final class HTTPServer: Sendable {
    package let configuration: HTTPServerConfiguration
    let handler: any HTTPServerHandler
    /// Listeners, accepting, the connection table and the drain.
    let shell: ConnectionShell<ServerConnection>
    /// The loops connections live on: the process's shared group when one was passed in,
    /// else a group of the server's own, started by `start()` and stopped after `shutdown`.
    let group: EventLoopGroup
    /// Whether `group` is the server's own (it starts and stops it).
    let ownsGroup: Bool
    var eventLoops: [EventLoop] { group.loops }
    /// How many loops, and why (for the daemon's start-up log line).
    package var cpuBudget: CPUBudget { group.cpuBudget }

    /// A server on `listeners` (it takes ownership of them and closes them on shutdown).
    /// Listener names should be unique; `HTTPServerRequest.listener` carries them. With
    /// `loops`, connections live on that shared group, which the caller starts before
    /// `start()` and stops after `shutdown`; without, the server makes its own
    /// (`configuration.eventLoops`).
    package init(
        listeners: [Listener], handler: some HTTPServerHandler,
        configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
        loops: EventLoopGroup? = nil
    ) {
        // Thread names are cut at 15 bytes.
        // Loops of its own (the operations endpoint, tests) never poll: `api.busy_poll_us` is
        // for the shared loops, and `0` there must leave no loop of the process polling.
        self.group =
            loops
            ?? EventLoopGroup(configured: configuration.eventLoops, name: "http-loop", busyPoll: 0)
        self.ownsGroup = loops == nil
        self.handler = handler
        self.configuration = configuration
        // Over maxConnections a connection is closed without a response: see
        // `HTTPServerConfiguration.maxConnections`.
        self.shell = ConnectionShell(
            listeners: listeners, maxConnections: configuration.maxConnections)
    }

    /// The port a TCP listener is bound to (after binding port 0), or nil for an unknown name or
    /// a Unix listener.
    package func boundPort(_ listenerName: String) -> Int? {
        shell.boundPort(listenerName)
    }

    /// The listeners accepted from now.
    package var listeners: [Listener] { shell.listeners }

    /// Changes the listener set while running (a reload moving listen addresses): accepts from
    /// `adding` too (taking ownership) and stops accepting from `removing`, closing them; the
    /// other listeners are not touched, and connections already accepted from a removed
    /// listener finish normally. Returns once the removed listeners are closed.
    package func updateListeners(adding: [Listener], removing: [Listener]) async {
        await shell.updateListeners(adding: adding, removing: removing)
    }

    /// Open connections, including ones draining during shutdown.
    package var connectionCount: Int { shell.connectionCount }

    /// Starts the loops and accepting on every listener, and returns at once. Call it once.
    package func start() {
        precondition(shell.phase == .created, "HTTPServer.start() called twice")
        if ownsGroup { group.start() }
        shell.start(
            on: eventLoops, acceptorTokens: EventLoopToken.apiAcceptorBase, placement: .fill
        ) {
            [self] admission, loop in
            ServerConnection(
                id: admission.id, fileDescriptor: admission.fileDescriptor, peer: admission.peer,
                listenerName: admission.listener.name, handler: handler,
                configuration: configuration, loop: loop, onClose: admission.finished)
        } startOnLoop: { connection in
            connection.startOnLoop()
        }
    }

    /// Stops accepting (closing the listeners and removing Unix socket files we created),
    /// closes idle keep-alive connections at once, lets requests in progress finish and answers
    /// them with `Connection: close`, and after `gracePeriod` closes whatever is left. Returns
    /// when every connection is closed. Safe to call more than once, or without `start()`.
    package func shutdown(gracePeriod: Duration) async {
        await shell.shutdown(gracePeriod: gracePeriod)
        if ownsGroup { group.stop() }
    }

    deinit {
        // Without a shutdown the loops would run on, keeping their connections open.
        if ownsGroup { group.stop() }
    }
}

/// `ServerConnection` already has the shell's three calls: `start` joins its loop,
/// `requestShutdown` and `forceClose` hop onto it.
extension ServerConnection: ShellConnection {}
