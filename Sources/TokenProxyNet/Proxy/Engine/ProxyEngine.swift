import Synchronization

/// The injecting HTTP/1.1 proxy: accepts plain HTTP from local programs (absolute-form as a
/// forward proxy, origin-form as a reverse proxy, CONNECT for allow-listed tunnels), asks its
/// `ProxyDelegate` what to do with each request, and forwards it to the upstream with the
/// delegate's `Authorization`, streaming bodies both ways.
///
/// Client connections live on event loops — the process's shared `EventLoopGroup` when one
/// is passed in (the daemon shares the token API's), else a group of the engine's own. Each
/// loop accepts on every listener (its own `SO_REUSEPORT` socket of each TCP address, see
/// `LoopAcceptors`); a connection goes to the loop with the fewest connections
/// (`ConnectionPlacement.balance`) and lives there with its upstream connections:
/// non-blocking connect (names resolved off the loop), TLS driven by
/// want-read/want-write, bodies and tunnels relayed with backpressure, keep-alive upstream
/// connections pooled per loop (`UpstreamPool`, no lock). No thread per connection, and a
/// request waiting for a token is parked, not a blocked thread (`ProxyDelegate`). Listeners,
/// the connection table, its limit and the drain are the `ConnectionShell` the token API
/// server uses too.
///
/// ```swift
/// let engine = ProxyEngine(
///     listeners: [try .tcp(host: "127.0.0.1", port: 8787, name: "proxy")],
///     delegate: router, configuration: ProxyEngineConfiguration())
/// engine.start()
/// ...
/// await engine.shutdown(gracePeriod: .seconds(5))
/// ```
package final class ProxyEngine: Sendable {
    package let configuration: ProxyEngineConfiguration
    let delegate: any ProxyDelegate
    /// Listeners, accepting, the connection table and the drain.
    let shell: ConnectionShell<ProxyConnection>
    let group: EventLoopGroup
    /// Whether `group` is the engine's own (it starts and stops it).
    let ownsGroup: Bool
    /// Each loop's pool and buffer, by loop.
    let contexts: [ObjectIdentifier: ProxyLoopContext]
    let resolver: UpstreamResolver
    private let peakBuffered = Atomic<Int>(0)
    /// `start()` ran: the loops run jobs (a shutdown before it must not wait on them).
    private let started = Atomic<Bool>(false)

    /// What a client over `maxConnections` gets before the close.
    static let overloadedResponse: [UInt8] = {
        let body = "tokenproxy: too many connections\n"
        return Array(
            ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8)
    }()

    /// An engine on `listeners` (it takes ownership of them and closes them on shutdown). With
    /// `loops`, connections live on that shared group, which the caller starts before
    /// `start()` and stops after `shutdown`; without, the engine makes its own (one loop per
    /// CPU the process may use).
    package init(
        listeners: [Listener], delegate: some ProxyDelegate,
        configuration: ProxyEngineConfiguration = ProxyEngineConfiguration(),
        loops: EventLoopGroup? = nil
    ) {
        self.delegate = delegate
        self.configuration = configuration
        // Loops of its own (tests) never poll, like `HTTPServer`'s.
        self.group = loops ?? EventLoopGroup(configured: nil, name: "proxy-loop", busyPoll: 0)
        self.ownsGroup = loops == nil
        self.contexts = Dictionary(
            uniqueKeysWithValues: group.loops.enumerated().map { index, loop in
                (
                    ObjectIdentifier(loop),
                    ProxyLoopContext(loop: loop, index: index, configuration: configuration)
                )
            })
        self.resolver = UpstreamResolver()
        self.shell = ConnectionShell(
            listeners: listeners, maxConnections: configuration.maxConnections,
            overloadResponse: Self.overloadedResponse)
    }

    /// The port a TCP listener is bound to (after binding port 0), or nil.
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

    /// Open client connections, including ones draining during shutdown.
    package var connectionCount: Int { shell.connectionCount }

    /// The most body bytes one connection held at once (a replay buffer, or what was queued
    /// for one side) since the engine started: backpressure keeps it near
    /// `Limits.Proxy.pendingOutputBytes` plus one read, whatever the body size.
    package var peakBufferedBodyBytes: Int { peakBuffered.load(ordering: .relaxed) }

    func noteBuffered(_ count: Int) {
        var current = peakBuffered.load(ordering: .relaxed)
        while count > current {
            let (exchanged, original) = peakBuffered.compareExchange(
                expected: current, desired: count, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Starts accepting on every listener (and the engine's own loops, if it has them) and
    /// returns at once. Call it once.
    package func start() {
        started.store(true, ordering: .relaxed)
        if ownsGroup { group.start() }
        shell.start(
            on: group.loops, acceptorTokens: EventLoopToken.proxyAcceptorBase, placement: .balance
        ) {
            [self] admission, loop in
            ProxyConnection(
                admission, loop: loop, context: contexts[ObjectIdentifier(loop)]!, engine: self)
        } startOnLoop: { connection in
            connection.startOnLoop()
        }
    }

    /// Idle upstream connections kept for reuse, over all loops (asks each loop).
    package func idleUpstreamConnections() async -> Int {
        guard started.load(ordering: .relaxed) else { return 0 }
        var total = 0
        for context in contexts.values {
            total += await withCheckedContinuation { continuation in
                context.loop.execute { continuation.resume(returning: context.pool.idleCount) }
            }
        }
        return total
    }

    /// Stops accepting (closing the listeners), closes idle client connections at once, lets
    /// exchanges in progress finish (their responses say `Connection: close`), and after
    /// `gracePeriod` closes whatever is left, tunnels included. Returns when every client
    /// connection is closed and every pooled upstream connection too. Safe to call more than
    /// once, or without `start()`.
    package func shutdown(gracePeriod: Duration) async {
        await shell.shutdown(gracePeriod: gracePeriod)
        guard started.load(ordering: .relaxed) else { return }
        for context in contexts.values {
            await withCheckedContinuation { continuation in
                context.loop.execute {
                    context.pool.closeAll()
                    continuation.resume()
                }
            }
        }
        if ownsGroup { group.stop() }
    }
}
