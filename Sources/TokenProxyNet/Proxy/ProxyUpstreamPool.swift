import Synchronization
import TokenProxyCore
import TokenProxyCrypto

/// Idle keep-alive connections to upstreams, keyed by `ProxyUpstream` (scheme, host, port and
/// TLS profile, so routes with different trust settings never share a connection).
///
/// A connection is taken out while one request uses it and given back only if its exchange
/// completed cleanly (`HTTPClientConnection.isReusable`). Before reuse it is checked with
/// `isStale()`, so a request is not written onto a connection the upstream already closed.
/// The most recently used connection is handed out first (warm TLS sessions, and the oldest
/// age out). Connections idle past `idleTimeout` are closed when the pool is next touched.
final class ProxyUpstreamPool: Sendable {
    private struct Idle {
        let connection: Connection
        let since: ContinuousClock.Instant
    }

    private struct State {
        var idle: [ProxyUpstream: [Idle]] = [:]
        var closed = false
        var lastSweep = ContinuousClock.now
    }

    /// Expired idle connections are looked for at most this often, not on every release.
    static let sweepInterval: Duration = .seconds(1)

    let maxIdlePerUpstream: Int
    let idleTimeout: Duration
    private let state = ThreadLock(State())

    init(maxIdlePerUpstream: Int, idleTimeout: Duration) {
        self.maxIdlePerUpstream = maxIdlePerUpstream
        self.idleTimeout = idleTimeout
    }

    /// Idle connections held right now, over all upstreams.
    var idleCount: Int {
        state.withLock { $0.idle.values.reduce(0) { $0 + $1.count } }
    }

    /// A live idle connection to `upstream`, or nil when there is none (connect then).
    func acquire(_ upstream: ProxyUpstream) -> Connection? {
        while true {
            let candidate = state.withLock { state -> Connection? in
                state.idle[upstream]?.popLast()?.connection
            }
            guard let candidate else { return nil }
            if !candidate.http.isStale() {
                candidate.reused = true
                return candidate
            }
            candidate.http.close()
        }
    }

    /// A new connection for `forward`: TCP, then TLS for `https` with the route's context.
    /// Throws `ProxyEngineError` (already classified into 502/504).
    func connect(_ forward: ProxyForward, deadline: ContinuousClock.Instant)
        throws(ProxyEngineError)
        -> Connection
    {
        let upstream = forward.upstream
        let name = upstream.description
        do {
            let socket = try SocketStream.connect(
                host: upstream.host, port: upstream.port, deadline: deadline)
            let stream: any ByteStream
            switch upstream.scheme {
            case "http":
                stream = socket
            case "https":
                guard let tls = forward.tls else {
                    socket.close()
                    throw ProxyEngineError.tlsFailed(
                        route: forward.routeName, upstream: name,
                        detail: "no TLS settings for an https upstream (a routing bug)")
                }
                stream = try TLSStream.connect(
                    over: socket, serverName: upstream.host, context: tls, deadline: deadline)
            default:
                socket.close()
                throw ProxyEngineError.upstreamUnreachable(
                    route: forward.routeName, upstream: name,
                    detail: "unsupported scheme '\(upstream.scheme)'")
            }
            return Connection(upstream: upstream, stream: stream, peer: socket.peer)
        } catch {
            throw ProxyEngineError.connecting(error, route: forward.routeName, upstream: name)
        }
    }

    /// Gives a connection back after its exchange; it is kept only if reusable and there is
    /// room, and closed otherwise.
    func release(_ connection: Connection) {
        connection.stream.beforeRead = nil
        guard connection.http.isReusable else {
            connection.http.close()
            return
        }
        let now = ContinuousClock.now
        var expired: [Connection] = []
        let kept = state.withLock { state -> Bool in
            if now - state.lastSweep >= Self.sweepInterval {
                state.lastSweep = now
                for (upstream, entries) in state.idle {
                    let (old, fresh) = entries.partitioned { now - $0.since >= idleTimeout }
                    if !old.isEmpty {
                        expired += old.map(\.connection)
                        state.idle[upstream] = fresh
                    }
                }
            }
            guard !state.closed,
                state.idle[connection.upstream, default: []].count < maxIdlePerUpstream
            else { return false }
            state.idle[connection.upstream, default: []].append(
                Idle(connection: connection, since: now))
            return true
        }
        for old in expired { old.http.close() }
        if !kept { connection.http.close() }
    }

    /// Closes every idle connection; later releases close theirs at once.
    func closeAll() {
        let all = state.withLock { state -> [Connection] in
            state.closed = true
            defer { state.idle = [:] }
            return state.idle.values.flatMap { $0.map(\.connection) }
        }
        for connection in all { connection.http.close() }
    }
}

extension Array {
    /// The elements matching `isFirst`, and the rest, both in order.
    fileprivate func partitioned(by isFirst: (Element) -> Bool) -> ([Element], [Element]) {
        var first: [Element] = []
        var rest: [Element] = []
        for element in self {
            if isFirst(element) { first.append(element) } else { rest.append(element) }
        }
        return (first, rest)
    }
}
