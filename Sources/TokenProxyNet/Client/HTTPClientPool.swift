import Synchronization

/// Idle keep-alive connections of one `HTTPClient`, per (scheme, host, port, proxy).
///
/// A connection is either checked out (owned by one exchange) or idle here, never both, so the
/// pool's lock is the only synchronization connections need. Connections are closed outside
/// the lock (closing TLS writes close_notify, which can block briefly).
final class HTTPClientPool: Sendable {
    /// What makes two requests able to share a connection.
    struct Key: Hashable, Sendable {
        var scheme: String
        var host: String
        var port: Int
        /// `host:port` of the proxy, or nil when direct.
        var proxy: String?
    }

    private struct Idle {
        var connection: HTTPClientConnection
        var since: ContinuousClock.Instant
    }

    private struct State {
        var idle: [Key: [Idle]] = [:]
        var isShutDown = false
    }

    private let state = Mutex(State())
    private let idleTimeout: Duration
    private let maxIdlePerKey: Int

    init(idleTimeout: Duration, maxIdlePerKey: Int) {
        self.idleTimeout = idleTimeout
        self.maxIdlePerKey = maxIdlePerKey
    }

    /// The most recently used idle connection for `key` that has not idled too long, or nil.
    /// Throws `shutDown` after `shutdown()`.
    func checkout(_ key: Key) throws -> HTTPClientConnection? {
        let now = ContinuousClock.now
        let (connection, expired) = try state.withLock {
            state throws -> (HTTPClientConnection?, [Idle]) in
            guard !state.isShutDown else { throw HTTPClientError.shutDown }
            var list = state.idle[key] ?? []
            let expired = list.filter { now - $0.since >= idleTimeout }
            list.removeAll { now - $0.since >= idleTimeout }
            let connection = list.popLast()?.connection
            state.idle[key] = list.isEmpty ? nil : list
            return (connection, expired)
        }
        for idle in expired { idle.connection.close() }
        return connection
    }

    /// Returns a connection whose exchange completed; closes it instead when it cannot be
    /// reused, the pool for `key` is full, or the pool is shut down.
    func checkin(_ connection: HTTPClientConnection, key: Key) {
        let kept =
            connection.isReusable
            && state.withLock { state in
                guard !state.isShutDown, (state.idle[key]?.count ?? 0) < maxIdlePerKey else {
                    return false
                }
                state.idle[key, default: []].append(Idle(connection: connection, since: .now))
                return true
            }
        if !kept { connection.close() }
    }

    /// Closes every idle connection and refuses further checkouts.
    func shutdown() {
        let idle = state.withLock { state in
            state.isShutDown = true
            defer { state.idle = [:] }
            return state.idle.values.flatMap { $0 }
        }
        for entry in idle { entry.connection.close() }
    }

    /// Number of idle connections for `key` (for tests).
    func idleCount(_ key: Key) -> Int {
        state.withLock { $0.idle[key]?.count ?? 0 }
    }
}
