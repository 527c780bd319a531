/// Running an exchange on a pooled connection, with the one retry keep-alive needs.
extension ConnectionPool {
    /// Runs `exchange` on an idle connection for `key`, or on a new one from `connect`, and
    /// returns its result; the connection stays checked out (give it back with `release`).
    ///
    /// A server may close an idle keep-alive connection at any moment, so a request written
    /// onto a reused connection can cross the server's FIN; `isStale()` narrows that window but
    /// cannot close it. So when a *reused* connection fails before any response byte arrived,
    /// and `mayReplay(error, connection)` says the request can be sent again whole and safely
    /// (RFC 9112 §9.3.1: an idempotent method, RFC 9110 §9.2.2, or a request that never
    /// reached the server), the exchange runs once more on a new connection. A connection whose
    /// exchange threw is closed.
    func withConnection<Result>(
        _ key: Key,
        connect: () throws -> Connection,
        mayReplay: (any Error, Connection) -> Bool,
        _ exchange: (Connection) throws -> Result
    ) throws -> Result {
        var mayRetry = true
        while true {
            let pooled = mayRetry ? acquire(key) : nil
            let connection = try pooled ?? connect()
            do {
                return try exchange(connection)
            } catch {
                connection.close()
                guard mayRetry, pooled != nil, !connection.receivedResponseBytes,
                    mayReplay(error, connection)
                else { throw error }
                mayRetry = false
            }
        }
    }
}
