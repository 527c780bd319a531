import Foundation
import Logging
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

/// The proxy's routing and tokens: decides, for each request the engine parsed, which
/// upstream gets it with which credential's token — or answers it locally. Nothing that
/// matches no route is forwarded: tokenproxy is never an open proxy.
///
/// Built from the `proxy` section and the daemon's token store; a reload builds a new one
/// (see `ProxyRouterSlot`). Its methods run on the engine's connection threads and may block
/// while a token is fetched.
package final class ProxyRouter: ProxyDelegate {
    let routes: [ProxyRouterRoute]
    let routesByName: [String: ProxyRouterRoute]
    let tunnels: Set<ProxyTunnel>
    let refreshHeader: String
    let tokens: any ProxyTokenSource
    /// Answers for guarded routes (ProxyRouter+Guard.swift); nil: no route has a guard to
    /// serve, and a guarded one answers 502.
    let introspection: (any ProxyIntrospectionSource)?
    /// The longest a request waits for a token fetch before it gets a 503.
    let tokenTimeout: Duration
    /// Unix-socket callers must pass the token API's uid/gid rules: the proxy hands out the
    /// power of the same tokens.
    let access: TokenAPI.AccessPolicy?
    let metrics: Metrics?
    let logger: Logger

    /// Builds the router and every route's TLS context. Throws the problems of unusable TLS
    /// files, at the route keys that name them (`proxy.routes[1].ca_file`); `file` labels them.
    /// `makeTLS` builds a context (tests share one: loading the CA bundle takes a while).
    package init(
        configuration: ProxyConfiguration, tokens: some ProxyTokenSource,
        introspection: (any ProxyIntrospectionSource)? = nil,
        access: TokenAPI.AccessPolicy? = nil,
        metrics: Metrics? = nil, logger: Logger, tokenTimeout: Duration? = nil, file: String,
        makeTLS: (TLSClientConfiguration) throws -> TLSClientContext = {
            try TLSClientContext(configuration: $0)
        }
    ) throws(ConfigurationError) {
        routes = try Self.compile(configuration.routes, file: file, makeTLS: makeTLS)
        routesByName = Dictionary(
            routes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        tunnels = Set(configuration.tunnels)
        refreshHeader = configuration.refreshHeader
        self.tokens = tokens
        self.introspection = introspection
        self.tokenTimeout = tokenTimeout ?? configuration.responseTimeout
        self.access = access
        self.metrics = metrics
        self.logger = logger
    }

    package func decide(_ head: HTTPRequestHead, peer: PeerIdentity, listener: String)
        -> ProxyDecision
    {
        if case .unix(_, let uid, let gid) = peer, let access, !access.allows(uid: uid, gid: gid) {
            return .respond(Self.forbiddenPeer(uid: uid, gid: gid))
        }
        if head.method == "CONNECT" { return connect(head.target) }
        let target: ProxyRequestTarget
        do {
            target = try ProxyRequestTarget.parse(head.target, host: head.fields["Host"])
        } catch {
            return .respond(Self.badTarget(error))
        }
        guard let route = routes.first(where: { $0.matches(target) }) else {
            return .respond(Self.noRoute(target))
        }
        return forward(head, target: target, route: route)
    }

    /// CONNECT carries TLS we cannot look into, so it is only a pass-through, and only to
    /// allow-listed destinations (RFC 9110 §9.3.6: the target is `host:port`).
    func connect(_ target: String) -> ProxyDecision {
        if let (host, port) = try? ProxyRequestTarget.authority(Substring(target)), let port,
            tunnels.contains(ProxyTunnel(host: host, port: port))
        {
            return .tunnel(host: host, port: port)
        }
        return .respond(Self.connectRefused(target))
    }

    func forward(_ head: HTTPRequestHead, target: ProxyRequestTarget, route: ProxyRouterRoute)
        -> ProxyDecision
    {
        let configured = route.route
        var forward = ProxyForward(
            upstream: route.upstream, tls: route.tls,
            target: ProxyRequestTarget.rewrite(
                path: target.path, query: target.query,
                stripping: configured.stripPrefix ? configured.pathPrefix : nil,
                basePath: route.basePath),
            hostHeader: route.hostHeader, authorization: nil,
            removeHeaders: [refreshHeader, "Proxy-Authorization"],
            forwardedHeaders: configured.forwardedHeaders, routeName: route.name,
            upgrades: configured.upgrades)
        if let refusal = guardRequest(head, route: route, forward: &forward) {
            return .respond(refusal)
        }
        if configured.keepClientAuthorization, head.fields.contains("Authorization") {
            return .forward(forward)
        }
        guard let credential = configured.credential else { return .forward(forward) }
        switch token(credential, forceRefresh: head.fields.contains(refreshHeader)) {
        case .success(let held):
            forward.authorization = Self.bearer(held)
            forward.tokenGeneration = Self.generation(of: held)
            return .forward(forward)
        case .failure(let error):
            return .respond(
                Self.tokenUnavailable(route: route.name, credential: credential, error))
        }
    }

    /// The cached token when it is valid (the fast path, no thread hop), else a blocking wait
    /// for the token service. A forced refresh skips the cache unless it is very fresh.
    func token(_ name: String, forceRefresh: Bool) -> Result<TokenStore.Snapshot, any Error> {
        if let held = tokens.cachedToken(name, minValid: nil),
            !forceRefresh
                || ContinuousClock.now - held.receivedAt < Limits.Proxy.minimumForcedRefreshInterval
        {
            return .success(held)
        }
        let tokens = self.tokens
        return Self.blockingWait(timeout: tokenTimeout) {
            forceRefresh
                ? try await tokens.refresh(name) : try await tokens.token(name, minValid: nil)
        }
    }

    static func bearer(_ held: TokenStore.Snapshot) -> String {
        held.value.authorization.value
    }

    /// Identifies a token without revealing it: a keyed hash (the key is random per process)
    /// of the token and its lifetime. Equal generations mean the same token.
    static func generation(of held: TokenStore.Snapshot) -> String {
        var hasher = Hasher()
        hasher.combine(held.value.accessToken.value)
        hasher.combine(held.receivedAt)
        hasher.combine(held.expiresAt)
        return String(UInt64(bitPattern: Int64(hasher.finalize())), radix: 16)
    }
}
