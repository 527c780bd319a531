import TokenProxyCore
import TokenProxyNet

/// The delegate the proxy engine keeps for its whole life: forwards to the current
/// `ProxyRouter`, which a reload replaces without touching listeners or connections (like
/// `SwappableHandler` for the token API). A request decided by an old router that gets a 401
/// after the swap asks the new one, which retries only if the route still goes to the same
/// upstream.
package final class ProxyRouterSlot: ProxyDelegate {
    /// Read on every request, written on reload.
    private let current: ThreadLock<ProxyRouter>

    package init(_ router: ProxyRouter) { current = ThreadLock(router) }

    package var router: ProxyRouter { current.withReadLock { $0 } }

    package func swap(_ router: ProxyRouter) { current.withLock { $0 = router } }

    package func decide(
        _ head: HTTPRequestHead, peer: PeerIdentity, listener: String,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        router.decide(head, peer: peer, listener: listener, completion: completion)
    }

    package func authorizationAfterUnauthorized(
        _ forward: ProxyForward, completion: @escaping @Sendable (String?) -> Void
    ) -> ProxyAnswer<String?> {
        router.authorizationAfterUnauthorized(forward, completion: completion)
    }

    package func completed(_ event: ProxyEvent) { router.completed(event) }
}
