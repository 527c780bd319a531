import Synchronization

/// The injecting HTTP/1.1 proxy: accepts plain HTTP from local programs (absolute-form as a
/// forward proxy, origin-form as a reverse proxy, CONNECT for allow-listed tunnels), asks its
/// `ProxyDelegate` what to do with each request, and forwards it to the upstream with the
/// delegate's `Authorization`, streaming bodies both ways.
///
/// Every client connection runs on a thread of its own with blocking I/O against deadlines:
/// simple, fast at the handful of connections local programs open, and it lets the delegate
/// block while a token is fetched (`ProxyConnectionThread`). Listeners, the connection table,
/// its limit and the drain are the `ConnectionShell` the token API server uses too. Upstream
/// connections are kept alive and reused (`ProxyUpstreamPool`, the `ConnectionPool` the IdP
/// client uses too).
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
    let pool: ProxyUpstreamPool
    /// Listeners, accepting, the connection table and the drain.
    let shell: ConnectionShell<ProxyConnectionThread>
    private let peakBuffered = Atomic<Int>(0)

    /// What a client over `maxConnections` gets before the close.
    static let overloadedResponse: [UInt8] = {
        let body = "tokenproxy: too many connections\n"
        return Array(
            ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8)
    }()

    /// An engine on `listeners` (it takes ownership of them and closes them on shutdown).
    package init(
        listeners: [Listener], delegate: some ProxyDelegate,
        configuration: ProxyEngineConfiguration = ProxyEngineConfiguration()
    ) {
        self.delegate = delegate
        self.configuration = configuration
        self.pool = ProxyUpstreamPool(
            maxIdlePerKey: configuration.maxIdleUpstreamConnections,
            idleTimeout: configuration.idleTimeout)
        self.shell = ConnectionShell(
            listeners: listeners, label: "tokenproxy.proxy.accept",
            maxConnections: configuration.maxConnections,
            overloadResponse: Self.overloadedResponse)
    }

    /// The port a TCP listener is bound to (after binding port 0), or nil.
    package func boundPort(_ listenerName: String) -> Int? {
        shell.boundPort(listenerName)
    }

    /// Open client connections, including ones draining during shutdown.
    package var connectionCount: Int { shell.connectionCount }

    /// Idle upstream connections kept for reuse.
    package var idleUpstreamConnections: Int { pool.idleCount }

    /// The most body bytes one connection held at once (a replay buffer, one piece in
    /// transit, or output gathered for one write) since the engine started: streaming keeps it
    /// near the buffer size whatever the body size.
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

    /// Starts accepting on every listener and returns at once. Call it once.
    package func start() {
        shell.start { [self] admission in ProxyConnectionThread(admission, engine: self) }
    }

    /// Stops accepting (closing the listeners), closes idle client connections at once, lets
    /// exchanges in progress finish (their responses say `Connection: close`), and after
    /// `gracePeriod` closes whatever is left, tunnels included. Returns when every connection
    /// thread has finished. Safe to call more than once, or without `start()`.
    package func shutdown(gracePeriod: Duration) async {
        await shell.shutdown(gracePeriod: gracePeriod)
        pool.closeAll()
    }
}
