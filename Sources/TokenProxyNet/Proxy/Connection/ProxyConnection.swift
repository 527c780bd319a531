import Synchronization
import TokenProxyCore

/// One client connection of the `ProxyEngine`, driven by its own thread (`run()`) with
/// blocking I/O: it carries out what its `StateMachine` decides (read, ask the delegate,
/// answer, forward, tunnel, close) and feeds it what happened.
///
/// Requests are handled strictly one after another, so pipelined requests are answered in
/// order: the machine parses the next head only after the previous response was sent, and
/// bytes that arrived early wait in its parser. Everything but `requestShutdown()` and
/// `forceClose()` runs on the connection's thread.
final class ProxyConnection: @unchecked Sendable {
    // @unchecked: the mutable I/O state belongs to the connection thread; what other threads
    // touch lives in `control`.

    /// Why reading from or writing to the client stopped an exchange.
    enum ClientError: Error {
        /// The request broke HTTP/1.1 framing (answered with `status`, then closed).
        case parse(HTTPParseError)
        /// The client went away, reset, stalled past a deadline, or we were shut down.
        case gone
    }

    /// State shared with the threads that shut the engine down.
    struct Control {
        /// Waiting for the next request head (nothing to lose by closing now).
        var idle = false
        var shutdownRequested = false
        /// `forceClose()` ran: an upstream set afterwards is closed at once.
        var forced = false
        /// The upstream stream in use, closed by `forceClose()` to wake a blocked call.
        var upstream: (any ByteStream)?
    }

    /// The request being answered, from its route decision until its response was sent.
    struct Current {
        let head: HTTPRequestHead
        let decision: ProxyDecision
        let start: ContinuousClock.Instant
        /// For reports: the route's name ("" for local answers).
        let route: String
        /// For `.forward`: the head sent upstream.
        var upstreamHead: HTTPRequestHead?
    }

    let id: Int
    let client: SocketStream
    let peer: PeerIdentity
    let listenerName: String
    let engine: ProxyEngine
    let configuration: ProxyEngineConfiguration
    var machine: StateMachine
    var current: Current?
    /// When the running read deadline passes.
    var readDeadline = ContinuousClock.now
    /// Whether the machine was told about a shutdown.
    var shutdownDelivered = false
    /// Bytes for the client not yet written; flushed before any wait on the upstream.
    var output: [UInt8] = []
    var date = HTTPServerDate()
    let control = ThreadLock(Control())
    let readBuffer: UnsafeMutableRawBufferPointer

    init(
        id: Int, client: SocketStream, peer: PeerIdentity, listenerName: String,
        engine: ProxyEngine
    ) {
        self.id = id
        self.client = client
        self.peer = peer
        self.listenerName = listenerName
        self.engine = engine
        self.configuration = engine.configuration
        self.machine = StateMachine(
            settings: StateMachine.Settings(
                limits: engine.configuration.limits,
                maxReplayBodyBytes: engine.configuration.maxReplayBodyBytes))
        self.readBuffer = .allocate(byteCount: Limits.Proxy.relayBufferBytes, alignment: 16)
        output.reserveCapacity(Limits.Proxy.relayBufferBytes + 4096)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// The client's IP address for `X-Forwarded-For`; nil for Unix-socket clients.
    var clientAddress: String? {
        if case .tcp(let address, _) = peer { return address }
        return nil
    }

    /// Whether the engine is shutting down (responses then say `Connection: close`).
    var shutdownRequested: Bool { control.withLock { $0.shutdownRequested } }

    /// Serves requests until the client leaves, a response ends the connection, or the engine
    /// shuts down; then closes the client socket.
    func run() {
        defer { client.close() }
        var step = Step(machine.start())
        while let next = perform(step) { step = next }
    }

    /// Asks the delegate and tells the machine its decision.
    func decide(_ head: HTTPRequestHead) -> Step {
        let start = ContinuousClock.now
        let decision = engine.delegate.decide(head, peer: peer, listener: listenerName)
        deliverShutdown()
        switch decision {
        case .respond(let response):
            current = Current(head: head, decision: decision, start: start, route: "")
            return Step(machine.routeDecided(.respond(response)))
        case .forward(let forward):
            let upstreamHead = ProxyHeaders.upstreamRequest(
                head, forward: forward, clientAddress: clientAddress, via: configuration.via)
            current = Current(
                head: head, decision: decision, start: start, route: forward.routeName,
                upstreamHead: upstreamHead)
            if let problem = Self.problem(with: upstreamHead) {
                return failExchange(.invalidForward(route: forward.routeName, detail: problem))
            }
            return Step(machine.routeDecided(.forward(allowedUpgrades: forward.upgrades)))
        case .tunnel(let host, let port):
            current = Current(
                head: head, decision: decision, start: start,
                route: SocketAddress.displayName(host: host, port: port))
            return Step(machine.routeDecided(.tunnel))
        }
    }

    /// Tells the machine once that the engine shuts down, so that the exchange in progress
    /// ends with `Connection: close`.
    func deliverShutdown() {
        guard !shutdownDelivered, shutdownRequested else { return }
        shutdownDelivered = true
        _ = machine.shutdownRequested()
    }

    /// Answers an exchange that failed before a response head reached the client.
    func failExchange(_ error: ProxyEngineError, retried: Bool = false) -> Step {
        guard let current else { return .close }
        deliverShutdown()
        let close: Bool
        switch machine.exchangeFailed() {
        case .answer(let decided): close = decided
        }
        let kept = fail(
            error, head: current.head, route: current.route, close: close, retried: retried,
            start: current.start)
        return responseSent(intact: kept)
    }

    /// The response to the current request was sent (and reported).
    func responseSent(intact: Bool) -> Step {
        current = nil
        return Step(machine.responseSent(intact: intact))
    }

    /// Reports a finished exchange to the delegate.
    func report(
        _ head: HTTPRequestHead?, route: String, status: Int, failure: String? = nil,
        retried: Bool = false, start: ContinuousClock.Instant
    ) {
        engine.delegate.completed(
            ProxyEvent(
                routeName: route, method: head?.method ?? "", status: status, failure: failure,
                retriedAfterUnauthorized: retried, duration: ContinuousClock.now - start))
    }

    /// Stops after the exchange in progress; an idle connection is closed at once (which wakes
    /// its read).
    func requestShutdown() {
        let idle = control.withLock { control in
            control.shutdownRequested = true
            return control.idle
        }
        if idle { client.close() }
    }

    /// Closes both sides now, waking whatever call the connection thread is blocked in.
    func forceClose() {
        let upstream = control.withLock { control in
            control.shutdownRequested = true
            control.forced = true
            return control.upstream
        }
        client.close()
        upstream?.close()
    }

    /// Records the upstream stream in use (nil when done), for `forceClose()`.
    func setUpstream(_ stream: (any ByteStream)?) {
        let forced = control.withLock { control in
            control.upstream = stream
            return control.forced
        }
        if forced { stream?.close() }
    }
}
