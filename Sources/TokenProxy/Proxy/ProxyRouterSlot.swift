import Synchronization
import TokenProxyCore
import TokenProxyNet

/// The delegate the proxy engine keeps for its whole life: forwards to the current
/// `ProxyRouter`, which a reload replaces without touching listeners or connections (like
/// `SwappableHandler` for the token API). A request decided by an old router that gets a 401
/// after the swap asks the new one, which retries only if the route still goes to the same
/// upstream.
package final class ProxyRouterSlot: ProxyDelegate {
    /// Read on every request (twice: `decide` and `completed`), written on reload. A
    /// `Mutex` rather than the reader-writer `ThreadLock`: a read holds it for one retain, so
    /// readers on other loops wait nanoseconds at most, and an uncontended lock and unlock is
    /// an atomic exchange and a store, where `pthread_rwlock` took ~300 instructions a read
    /// (callgrind). A request sees the old router or the new one, whole.
    private let current: Mutex<ProxyRouter>

    package init(_ router: ProxyRouter) { current = Mutex(router) }

    package var router: ProxyRouter { current.withLock { $0 } }

    package func swap(_ router: ProxyRouter) {
        var replaced = router
        current.withLock { Swift.swap(&$0, &replaced) }
        // The old router is released here, outside the lock (its deinit may do real work).
    }

    package func decide(
        _ head: HTTPRequestHead, peer: PeerIdentity, listener: String, receivedAt: UInt64,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        router.decide(
            head, peer: peer, listener: listener, receivedAt: receivedAt, completion: completion)
    }

    package func authorizationAfterUnauthorized(
        _ forward: ProxyForward, completion: @escaping @Sendable (String?) -> Void
    ) -> ProxyAnswer<String?> {
        router.authorizationAfterUnauthorized(forward, completion: completion)
    }

    // A success in parts (`ProxyDelegate.succeeded`) takes the protocol's default: forwards
    // of the daemon's routers name their router's reporter, which the engine tells directly;
    // what is left here (local answers) is rare enough to build its event.
    package func completed(_ event: ProxyEvent) { router.completed(event) }
}
