import Synchronization
import TokenProxyCore
import TokenProxyNet

/// The delegate the proxy engine keeps for its whole life: forwards to the current
/// `ProxyRouter`, which a reload replaces without touching listeners or connections (like
/// `SwappableHandler` for the token API). A request decided by an old router that gets a 401
/// after the swap asks the new one, which retries only if the route still goes to the same
/// upstream.
package final class ProxyRouterSlot: ProxyDelegate {
    /// Written on reload; read under it only by a loop thread that has not read this
    /// generation yet (`withRouter`). A `Mutex`: a read holds it for one retain.
    private let current: Mutex<ProxyRouter>
    /// Swaps so far: bumped after each (releasing), loaded before a read (acquiring), as in
    /// `SnapshotSlot`.
    private let swaps = Atomic<UInt64>(0)
    /// This slot in the loops' per-thread caches (`ThreadReadCache`).
    private let owner = ThreadReadCache.newOwner()

    package init(_ router: ProxyRouter) { current = Mutex(router) }

    package var router: ProxyRouter { current.withLock { $0 } }

    package func swap(_ router: ProxyRouter) {
        var replaced = router
        current.withLock { Swift.swap(&$0, &replaced) }
        swaps.add(1, ordering: .releasing)
        // The old router is released here, outside the lock (its deinit may do real work);
        // loop threads that cached it release it when they next read the slot.
    }

    /// Runs `body` with the current router: the one the calling thread read last if no swap
    /// came since, without the lock or a retain (`ThreadReadCache`). Every request reads it
    /// (and a 401 or a local answer again); the `Mutex` and the router's retain and release
    /// were four atomic instructions per read. A request sees the old router or the new one,
    /// whole.
    @inline(__always)
    private func withRouter<Result>(_ body: (ProxyRouter) -> Result) -> Result {
        ThreadReadCache.withValue(
            owner: owner, generation: swaps.load(ordering: .acquiring),
            load: { Optional(router) }, { body($0!) })
    }

    package func decide(
        _ head: HTTPRequestHead, peer: PeerIdentity, listener: String, receivedAt: UInt64,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        withRouter {
            $0.decide(
                head, peer: peer, listener: listener, receivedAt: receivedAt,
                completion: completion)
        }
    }

    package func authorizationAfterUnauthorized(
        _ forward: ProxyForward, completion: @escaping @Sendable (String?) -> Void
    ) -> ProxyAnswer<String?> {
        withRouter { $0.authorizationAfterUnauthorized(forward, completion: completion) }
    }

    // A success in parts (`ProxyDelegate.succeeded`) takes the protocol's default: forwards
    // of the daemon's routers name their router's reporter, which the engine tells directly;
    // what is left here (local answers) is rare enough to build its event.
    package func completed(_ event: ProxyEvent) { withRouter { $0.completed(event) } }
}
