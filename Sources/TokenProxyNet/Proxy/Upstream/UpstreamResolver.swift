import Dispatch
import Synchronization
import TokenProxyCore
import TokenProxyCrypto

/// Turns an upstream's host name into addresses without blocking an event loop.
///
/// `getaddrinfo` blocks for as long as the resolver takes (DNS, `/etc/hosts`, NSS modules), so
/// a name is looked up on a Dispatch queue and the answer is handed back to the asking loop
/// through `EventLoop.execute`. IP literals need no lookup and answer at once, as does a name
/// looked up less than `Limits.Proxy.resolverCacheTTL` ago (a short positive cache: failures
/// are not cached, so a fixed `/etc/hosts` or DNS entry helps at once).
final class UpstreamResolver: Sendable {
    typealias Answer = Result<[SocketAddress], NetError>

    private struct Entry {
        let addresses: [SocketAddress]
        let expires: ContinuousClock.Instant
    }

    private let cache = Mutex<[String: Entry]>([:])
    private let queue = DispatchQueue(
        label: "tokenproxy.proxy.resolver", attributes: .concurrent)
    /// Replaces the system resolver in tests.
    private let lookUp: @Sendable (String, Int) -> Answer

    init(
        lookUp: @escaping @Sendable (String, Int) -> Answer = { host, port in
            Result { () throws(NetError) in try SocketAddress.resolve(host: host, port: port) }
        }
    ) {
        self.lookUp = lookUp
    }

    /// The addresses of `host:port` now (an IP literal, or a cached name), or nil: then
    /// `resolve` answers on `loop` later.
    func immediate(host: String, port: Int) -> Answer? {
        if TLSSession.isIPAddress(SocketAddress.unbracketed(host)) {
            // A numeric lookup never touches the network.
            return lookUp(host, port)
        }
        let key = "\(host):\(port)"
        let now = ContinuousClock.now
        return cache.withLock { cache in
            guard let entry = cache[key], entry.expires > now else { return nil }
            return .success(entry.addresses)
        }
    }

    /// Looks `host:port` up off the loop and runs `done` with the answer on `loop`'s thread.
    func resolve(
        host: String, port: Int, on loop: EventLoop,
        _ done: @escaping @Sendable (Answer) -> Void
    ) {
        queue.async { [self] in
            let answer = lookUp(host, port)
            if case .success(let addresses) = answer { remember(host, port, addresses) }
            loop.execute { done(answer) }
        }
    }

    private func remember(_ host: String, _ port: Int, _ addresses: [SocketAddress]) {
        let expires = ContinuousClock.now + Limits.Proxy.resolverCacheTTL
        cache.withLock { cache in
            if cache.count >= Limits.Proxy.resolverCacheEntries { cache.removeAll() }
            cache["\(host):\(port)"] = Entry(addresses: addresses, expires: expires)
        }
    }
}
