import Dispatch
import Foundation
import Glibc
import Synchronization

/// An HTTP/1.1 server on Unix and TCP listeners, driven by epoll event loops (no SwiftNIO).
///
/// Each listener has a Dispatch read source on one accept queue; accepted connections
/// (`ServerConnection`) are dealt round-robin to one `EventLoop` per core, which reads, parses,
/// calls the handler and writes on its own thread, so a slow or stuck client never holds up
/// another. Requests on a connection are answered strictly in order; bodies are buffered up to
/// `maxRequestBodyBytes`. Handlers are called on the loop's thread and must not block it:
/// answer inline when the answer is at hand (the fast path), else hand the work to a task and
/// call `respond` from there.
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
    enum Phase {
        case created
        case running
        case shuttingDown
        case stopped
    }

    struct State {
        var phase = Phase.created
        var connections: [Int: ServerConnection] = [:]
        var nextConnectionID = 0
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    package let configuration: HTTPServerConfiguration
    let listeners: [Listener]
    let handler: any HTTPServerHandler
    /// The listening sockets and their accept sources.
    let acceptor: AcceptSources
    /// One epoll loop per core; their threads run from `start()` until `shutdown` drained.
    let eventLoops: [EventLoop] = (0..<max(1, ProcessInfo.processInfo.activeProcessorCount)).map {
        // Thread names are cut at 15 bytes.
        EventLoop(name: "http-loop-\($0)")
    }
    let state = Mutex(State())

    /// A server on `listeners` (it takes ownership of them and closes them on shutdown).
    /// Listener names should be unique; `HTTPServerRequest.listener` carries them.
    package init(
        listeners: [Listener], handler: some HTTPServerHandler,
        configuration: HTTPServerConfiguration = HTTPServerConfiguration()
    ) {
        self.listeners = listeners
        self.acceptor = AcceptSources(listeners: listeners, label: "tokenproxy.http-server.accept")
        self.handler = handler
        self.configuration = configuration
    }

    /// The port a TCP listener is bound to (after binding port 0), or nil for an unknown name or
    /// a Unix listener.
    package func boundPort(_ listenerName: String) -> Int? {
        listeners.first { $0.name == listenerName }?.port
    }

    /// Open connections, including ones draining during shutdown.
    package var connectionCount: Int {
        state.withLock { $0.connections.count }
    }

    /// Starts accepting on every listener and returns at once. Call it once.
    package func start() {
        state.withLock { state in
            precondition(state.phase == .created, "HTTPServer.start() called twice")
            state.phase = .running
            for loop in eventLoops { loop.start() }
        }
        acceptor.start { [self] index in acceptConnections(listenerIndex: index) }
    }

    /// Stops accepting (closing the listeners and removing Unix socket files we created),
    /// closes idle keep-alive connections at once, lets requests in progress finish and answers
    /// them with `Connection: close`, and after `gracePeriod` closes whatever is left. Returns
    /// when every connection is closed. Safe to call more than once, or without `start()`.
    package func shutdown(gracePeriod: Duration) async {
        let connections = state.withLock { state in
            if state.phase == .created || state.phase == .running { state.phase = .shuttingDown }
            return Array(state.connections.values)
        }
        await acceptor.stop()
        for connection in connections { connection.requestShutdown() }
        let nanoseconds = gracePeriod.clampedNanoseconds
        DispatchQueue.global().asyncAfter(
            deadline: DispatchTime(
                uptimeNanoseconds: DispatchTime.now().uptimeNanoseconds + nanoseconds)
        ) { [weak self] in
            self?.forceCloseConnections()
        }
        await withCheckedContinuation { continuation in
            let drained = state.withLock { state in
                guard state.connections.isEmpty else {
                    state.drainWaiters.append(continuation)
                    return false
                }
                state.phase = .stopped
                return true
            }
            if drained { continuation.resume() }
        }
        for loop in eventLoops { loop.stop() }
    }

    deinit {
        // Without a shutdown the loops would run on, keeping their connections open.
        for loop in eventLoops { loop.stop() }
    }

    private func forceCloseConnections() {
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections { connection.forceClose() }
    }

    /// A connection's descriptor was closed: forget it, and finish a drain it was the last of.
    func connectionClosed(_ id: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.connections[id] = nil
            guard state.connections.isEmpty, state.phase == .shuttingDown else { return [] }
            state.phase = .stopped
            defer { state.drainWaiters = [] }
            return state.drainWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
