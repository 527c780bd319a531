import TokenProxyCore

/// A connection a `ConnectionPool` can keep between exchanges: `HTTPClientConnection`, and the
/// proxy's `ProxyUpstreamConnection` around one.
protocol PooledConnection: AnyObject, Sendable {
    /// Whether another request may be sent: the last exchange completed on both sides and both
    /// allow keep-alive.
    var isReusable: Bool { get }
    /// Whether any byte of the current response has arrived. A reused connection failing
    /// before that is the "server closed an idle connection" race; after it, it is not.
    var receivedResponseBytes: Bool { get }
    /// Whether the peer closed the connection (or sent bytes nobody asked for) while it sat
    /// idle; a poll that does not block.
    func isStale() -> Bool
    /// Called as the connection goes idle in the pool: drop whatever tied it to its last user.
    func parked()
    func close()
}

extension PooledConnection {
    func parked() {}
}

/// Idle keep-alive connections, per key — the scheme, host, port and TLS settings (and the
/// HTTP proxy) a connection was opened with, so requests with different trust settings never
/// share one — for the IdP client (`HTTPClient`) and the proxy's upstreams.
///
/// A connection is either checked out (owned by one exchange, on one thread) or idle here,
/// never both, so the pool's lock is the only synchronization connections need. The most
/// recently used connection is handed out first (a warm TLS session; the oldest age out).
/// Before reuse a connection is polled with `isStale()`, so a request is not written onto a
/// connection the server already closed; `withConnection` retries the race that remains.
/// Connections are closed outside the lock (closing TLS writes close_notify, which can block
/// briefly).
///
/// The lock is a pthread lock (`ThreadLock`): the proxy's many connection threads take it, and
/// `Synchronization.Mutex` spins in its slow path on Linux.
final class ConnectionPool<Key: Hashable & Sendable, Connection: PooledConnection>: Sendable {
    private struct Idle {
        let connection: Connection
        let since: ContinuousClock.Instant
    }

    private struct State {
        var idle: [Key: [Idle]] = [:]
        var closed = false
        var lastSweep = ContinuousClock.now
    }

    /// Expired idle connections of every key are looked for at most this often, not on every
    /// release.
    static var sweepInterval: Duration { Limits.IdP.poolSweepInterval }

    /// Most idle connections kept per key; 0 disables reuse.
    let maxIdlePerKey: Int
    /// How long a connection may sit idle before it is closed instead of reused (servers
    /// commonly close idle connections after 5–60 s).
    let idleTimeout: Duration
    private let state = ThreadLock(State())

    init(maxIdlePerKey: Int, idleTimeout: Duration) {
        self.maxIdlePerKey = maxIdlePerKey
        self.idleTimeout = idleTimeout
    }

    /// Whether `closeAll()` ran.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Idle connections held right now, over all keys.
    var idleCount: Int {
        state.withLock { $0.idle.values.reduce(0) { $0 + $1.count } }
    }

    /// Idle connections held right now for `key`.
    func idleCount(_ key: Key) -> Int {
        state.withLock { $0.idle[key]?.count ?? 0 }
    }

    /// The most recently used live idle connection for `key`, or nil when there is none
    /// (connect then). Expired and stale connections met on the way are closed.
    func acquire(_ key: Key) -> Connection? {
        while true {
            let now = ContinuousClock.now
            var expired: [Connection] = []
            let candidate = state.withLock { state -> Connection? in
                expired = sweep(&state, now: now)
                guard let last = state.idle[key]?.popLast() else { return nil }
                if now - last.since < idleTimeout { return last.connection }
                // The newest is too old, so are the rest.
                expired.append(last.connection)
                expired += state.idle.removeValue(forKey: key)?.map(\.connection) ?? []
                return nil
            }
            for connection in expired { connection.close() }
            guard let candidate else { return nil }
            if !candidate.isStale() { return candidate }
            candidate.close()
        }
    }

    /// Gives a connection back after its exchange; it is kept only if reusable and there is
    /// room, and closed otherwise (also after `closeAll()`).
    func release(_ connection: Connection, key: Key) {
        connection.parked()
        guard connection.isReusable else {
            connection.close()
            return
        }
        let now = ContinuousClock.now
        var expired: [Connection] = []
        let kept = state.withLock { state -> Bool in
            expired = sweep(&state, now: now)
            guard !state.closed, state.idle[key, default: []].count < maxIdlePerKey else {
                return false
            }
            state.idle[key, default: []].append(Idle(connection: connection, since: now))
            return true
        }
        for old in expired { old.close() }
        if !kept { connection.close() }
    }

    /// Closes every idle connection; later releases close theirs at once.
    func closeAll() {
        let all = state.withLock { state -> [Connection] in
            state.closed = true
            defer { state.idle = [:] }
            return state.idle.values.flatMap { $0.map(\.connection) }
        }
        for connection in all { connection.close() }
    }

    /// Takes the connections of every key that idled past `idleTimeout` out of `state`, at
    /// most once per `sweepInterval`; the caller closes them outside the lock.
    private func sweep(_ state: inout State, now: ContinuousClock.Instant) -> [Connection] {
        guard now - state.lastSweep >= Self.sweepInterval else { return [] }
        state.lastSweep = now
        var expired: [Connection] = []
        for (key, entries) in state.idle {
            // Each list is oldest first: the expired ones are a prefix.
            let stale = entries.prefix { now - $0.since >= idleTimeout }
            guard !stale.isEmpty else { continue }
            expired += stale.map(\.connection)
            let fresh = entries.dropFirst(stale.count)
            state.idle[key] = fresh.isEmpty ? nil : Array(fresh)
        }
        return expired
    }
}
