import TokenProxyCore

/// One event loop's idle keep-alive upstream connections, keyed by `ProxyUpstream` (scheme,
/// host, port and TLS profile, so routes with different trust settings never share one).
///
/// Per loop, so the hot path takes no lock: a connection lives on the loop that opened it and
/// only that loop's client connections reuse it. The most recently used connection is handed
/// out first (a warm TLS session; the oldest age out). An idle connection stays in epoll: when
/// its peer closes it (or its idle timeout passes, the connection's own deadline) it leaves the
/// pool at once instead of failing the next request. Loop thread only.
final class UpstreamPool {
    /// Most idle connections kept per upstream; 0 disables reuse.
    let maxIdlePerKey: Int
    /// How long a connection may sit idle before it is closed (nanoseconds).
    let idleTimeout: UInt64
    // The mutable state below is not checked for exclusivity at run time: only the loop's
    // thread touches it (a pool is per loop), and no access overlaps another (the checks, on in every
    // other build of this code, pass the whole suite). Each check was a runtime call, and a
    // proxied request made about a hundred of them (callgrind).
    /// One upstream's idle connections, most recently used last. A slot stays when its list
    /// runs empty: on a busy route it goes from one connection to none and back on every
    /// request, and removing and re-inserting its key each time cost two more hash lookups.
    private struct Slot {
        let key: ProxyUpstream
        var idle: [UpstreamConnection] = []
    }
    @exclusivity(unchecked) private var slots: [Slot] = []
    /// Where each upstream's slot is in `slots`.
    @exclusivity(unchecked) private var positions: [ProxyUpstream: Int] = [:]
    /// The slot used last: a request's `acquire` and `release` (and the next request of the
    /// route) usually name it again, and comparing the key with it (the same strings, equal
    /// at their first word) costs less than hashing the host (~300 instructions a lookup).
    @exclusivity(unchecked) private var lastSlot = 0
    @exclusivity(unchecked) private var closed = false

    /// `Limits.Proxy.staleCheckAfter` in nanoseconds, converted once rather than per request.
    private let staleCheckAfter = Limits.Proxy.staleCheckAfter.clampedNanoseconds

    init(maxIdlePerKey: Int, idleTimeout: Duration) {
        self.maxIdlePerKey = maxIdlePerKey
        self.idleTimeout = idleTimeout.clampedNanoseconds
    }

    /// Idle connections held now, over all upstreams.
    var idleCount: Int { slots.reduce(0) { $0 + $1.idle.count } }

    /// The position of `key`'s slot, made when `create` and there is none yet.
    private func position(of key: ProxyUpstream, create: Bool) -> Int? {
        if lastSlot < slots.count && slots[lastSlot].key == key { return lastSlot }
        if let position = positions[key] {
            lastSlot = position
            return position
        }
        guard create else { return nil }
        lastSlot = slots.count
        positions[key] = lastSlot
        slots.append(Slot(key: key))
        return lastSlot
    }

    /// The most recently used idle connection for `key`, taken out of the pool, or nil.
    func acquire(_ key: ProxyUpstream) -> UpstreamConnection? {
        guard let slot = position(of: key, create: false) else { return nil }
        while let connection = slots[slot].idle.popLast() {
            // The loop's time of this wake-up, not a clock read per request: it is behind by
            // what the loop has spent since waking, so `idleFor` may come out that much short
            // (the stale check below skipped on a connection just past the threshold; the
            // resend on a fresh connection covers that case as it covers the race).
            let idleFor = connection.idleSince.map { connection.loop.time &- $0 } ?? 0
            connection.idleSince = nil
            connection.idleDeadline = nil
            connection.idlePool = nil
            // A close the peer sent while the connection idled is reported by epoll (it stays
            // watched); only one that may have crossed the last loop iteration needs a look,
            // and only after a pause worth an idle close (a busy route reuses connections
            // microseconds apart and pays no syscall). The race that remains is what
            // `ProxyConnection.mayResendOnNewConnection` handles.
            let check = idleFor >= staleCheckAfter
            guard connection.phase == .ready, !(check && connection.heardWhileIdle()) else {
                connection.close()  // not idle any more: `forget` is not called
                continue
            }
            return connection
        }
        return nil
    }

    /// Takes a connection back after its exchange: kept when reusable and there is room,
    /// closed otherwise.
    ///
    /// `consuming`: the caller moves its reference in (the exchange's) and the idle list
    /// keeps that one; a borrowed parameter was retained for the list while the caller's
    /// reference was released later, an atomic pair per request.
    func release(_ connection: consuming UpstreamConnection) {
        guard let slot = prepareIdle(connection) else { return }
        slots[slot].idle.append(connection)  // the last use: moved in
    }

    /// `release` up to the append, on a borrowed reference (read through the consumed
    /// parameter, `connection.upstream` was retained and released around the slot lookup):
    /// the slot to keep `connection` in, or nil when it was closed instead.
    private func prepareIdle(_ connection: UpstreamConnection) -> Int? {
        connection.clearOwner()
        connection.reading = false
        guard connection.reusable, connection.phase == .ready, !closed, maxIdlePerKey > 0 else {
            connection.close()
            return nil
        }
        let slot = position(of: connection.upstream, create: true)!
        guard slots[slot].idle.count < maxIdlePerKey else {
            connection.close()
            return nil
        }
        // The loop's cached time (see `acquire`): the idle deadline falls early, never late.
        let now = connection.loop.time
        connection.idleSince = now
        connection.idleDeadline = now + idleTimeout
        connection.loop.noteDeadline(now + idleTimeout)
        connection.idlePool = self
        // Watched before it joins the list, so that the append is the reference's last use.
        // Epoll refusing it closes it: then it is not kept.
        connection.updateInterest()
        return connection.phase == .ready ? slot : nil
    }

    /// Closes every idle connection; later releases close theirs.
    func closeAll() {
        closed = true
        let all = slots.flatMap(\.idle)
        slots = []
        positions = [:]
        lastSlot = 0
        for connection in all {
            connection.idlePool = nil
            connection.close()
        }
    }

    /// Its idle connections cannot outlive it knowing it (`UpstreamConnection.idlePool`).
    /// Only the references are cleared (a safety net: the engine closes every pool on its
    /// loop first, `closeAll`): this may run on another thread, where closing a connection
    /// (leaving its loop) must not happen; one closed later forgets nothing.
    deinit {
        for slot in slots {
            for connection in slot.idle { connection.idlePool = nil }
        }
    }

    /// `connection`, idle here, closed: it leaves its list.
    func forget(_ connection: UpstreamConnection) {
        guard let slot = position(of: connection.upstream, create: false) else { return }
        slots[slot].idle.removeAll { $0 === connection }
    }
}
