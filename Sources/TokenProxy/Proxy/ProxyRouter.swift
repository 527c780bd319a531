import FoundationEssentials
import Logging
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet
import TokenProxyPosix

/// The proxy's routing and tokens: decides, for each request the engine parsed, which
/// upstream gets it with which credential's token — or answers it locally. Nothing that
/// matches no route is forwarded: tokenproxy is never an open proxy.
///
/// Built from the `proxy` section and the daemon's token store; a reload builds a new one
/// (see `ProxyRouterSlot`). Its methods run on the engine's event loops and never block: a
/// cached token answers at once; otherwise the request is parked (`.later`) until the token
/// service delivers or `tokenTimeout` passes (503 + `Retry-After`).
package final class ProxyRouter: ProxyDelegate {
    let routes: [ProxyRouterRoute]
    /// `routes`, unretained, for `decide`: a route read from `routes` (or found by `first`)
    /// was retained and released per request. Sound for as long as the router lives:
    /// `routes`, a `let`, holds every one.
    let routeReferences: [Unmanaged<ProxyRouterRoute>]
    let routesByName: [String: ProxyRouterRoute]
    let tunnels: Set<ProxyTunnel>
    let refreshHeader: String
    /// What every forward removes besides hop-by-hop fields, built once (not per request).
    let removedHeaders: [String]
    let tokens: any ProxyTokenSource
    /// Answers for guarded routes (ProxyRouter+Guard.swift); nil: no route has a guard to
    /// serve, and a guarded one answers 502.
    let introspection: (any ProxyIntrospectionSource)?
    /// The longest a request waits for a token fetch before it gets a 503.
    let tokenTimeout: Duration
    /// Unix-socket callers must pass the token API's uid/gid rules: the proxy hands out the
    /// power of the same tokens.
    let access: TokenAPI.AccessPolicy?
    /// Per-credential `allow` rules (the token API's): a route injecting a credential's token
    /// is refused to a caller that may not have that token.
    let rules: [String: AccessRule]
    let metrics: Metrics?
    let logger: Logger
    /// Counts and logs finished exchanges; each route's template names it, so the engine
    /// reports a success there directly.
    let reporter: ProxyRouterReporter

    /// Builds the router and every route's TLS context. Throws the problems of unusable TLS
    /// files, at the route keys that name them (`proxy.routes[1].ca_file`); `file` labels them.
    /// `makeTLS` builds a context (tests share one: loading the CA bundle takes a while).
    package init(
        configuration: ProxyConfiguration, tokens: some ProxyTokenSource,
        introspection: (any ProxyIntrospectionSource)? = nil,
        access: TokenAPI.AccessPolicy? = nil, rules: [String: AccessRule] = [:],
        metrics: Metrics? = nil, logger: Logger, tokenTimeout: Duration? = nil, file: String,
        makeTLS: (TLSClientConfiguration) throws -> TLSClientContext = {
            try TLSClientContext(configuration: $0)
        }
    ) throws(ConfigurationError) {
        removedHeaders = [configuration.refreshHeader, "Proxy-Authorization"]
        let reporter = ProxyRouterReporter(metrics: metrics, logger: logger)
        routes = try Self.compile(
            configuration.routes, file: file, tokenSlot: tokens.snapshotSlot,
            removeHeaders: removedHeaders, reporter: reporter, makeTLS: makeTLS)
        self.reporter = reporter
        routeReferences = routes.map { Unmanaged.passUnretained($0) }
        routesByName = Dictionary(
            routes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        tunnels = Set(configuration.tunnels)
        refreshHeader = configuration.refreshHeader
        self.tokens = tokens
        self.introspection = introspection
        self.tokenTimeout = tokenTimeout ?? configuration.responseTimeout
        self.access = access
        self.rules = rules
        self.metrics = metrics
        self.logger = logger
    }

    /// `receivedAt` (`ContinuousTime` nanoseconds, the engine's reading when the head
    /// arrived) is the time a cached token must still be usable at.
    package func decide(
        _ head: HTTPRequestHead, peer: PeerIdentity, listener: String, receivedAt: UInt64,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        // The fields passed borrowed for the whole decision: bound to a local, they were
        // copied out of the head's box (a retain and a release per request).
        decide(
            head, fields: head.fields, peer: peer, receivedAt: receivedAt, completion: completion)
    }

    /// `decide` with `head.fields` borrowed by the caller.
    private func decide(
        _ head: HTTPRequestHead, fields: borrowing HTTPFields, peer: PeerIdentity,
        receivedAt: UInt64, completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        if case .unix(_, let uid, let gid) = peer, let access, !access.allows(uid: uid, gid: gid) {
            return .now(.respond(Self.forbiddenPeer(uid: uid, gid: gid)))
        }
        // The length first: `==` on two different small strings is a runtime call.
        if head.method.utf8.count == 7 && head.method == "CONNECT" {
            return .now(connect(head.target))
        }
        let matched: Unmanaged<ProxyRouterRoute>
        let upstreamTarget: String
        if let (route, target) = routeOriginForm(head, fields: fields) {
            matched = route
            upstreamTarget = target
        } else {
            let target: ProxyRequestTarget
            do {
                target = try ProxyRequestTarget.parse(head.target, host: fields["Host"])
            } catch {
                return .now(.respond(Self.badTarget(error)))
            }
            guard let route = routeReferences.first(where: { $0.matches(target) }) else {
                return .now(.respond(Self.noRoute(target)))
            }
            matched = route
            upstreamTarget = matched._withUnsafeGuaranteedRef {
                ProxyRequestTarget.rewrite(
                    path: target.path, query: target.query, stripping: $0.strippedPrefix,
                    basePath: $0.basePath)
            }
        }
        // Sound: `routes`, a `let`, holds every route for as long as the router lives, and the
        // caller holds the router (a capture below retains the route where it must outlive
        // this call).
        return matched._withUnsafeGuaranteedRef { route in
            decide(
                head, fields: fields, route: route, upstreamTarget: upstreamTarget, peer: peer,
                receivedAt: receivedAt, completion: completion)
        }
    }

    /// `decide` once the route is known.
    private func decide(
        _ head: HTTPRequestHead, fields: borrowing HTTPFields, route: ProxyRouterRoute,
        upstreamTarget: String, peer: PeerIdentity, receivedAt: UInt64,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        if !rules.isEmpty, let credential = route.route.credential, let rule = rules[credential],
            !TokenAPI.callerMayUse(
                rule, peer: peer, ownUID: access?.ownUID ?? ProcessIdentity.userID
            ).allowed
        {
            metrics?.access.recordRefused(credential: credential)
            return .now(.respond(Self.credentialRefused(credential)))
        }
        if route.route.guard == nil,
            let decision = forwardNow(fields, upstreamTarget, route, at: receivedAt)
        {
            return .now(decision)
        }
        return forward(head, upstreamTarget: upstreamTarget, route: route, completion: completion)
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

    /// The common request's decision in one step, or nil: then `forward` decides. For a route
    /// without a guard (the caller must check): without a credential, or keeping the
    /// client's `Authorization`, or with the token held in the route's slot (no forced
    /// refresh). The forward is built with its token (setting it afterwards from this module
    /// was checked for exclusivity at run time, a call per field). The held token must be
    /// usable `at` the request's receive time (`ContinuousTime` nanoseconds from the engine:
    /// no clock read here).
    func forwardNow(
        _ fields: borrowing HTTPFields, _ upstreamTarget: String, _ route: ProxyRouterRoute,
        at now: UInt64
    ) -> ProxyDecision? {
        let configured = route.route
        guard configured.credential != nil,
            !configured.keepClientAuthorization || !fields.contains("Authorization")
        else {
            return .forward(makeForward(route, upstreamTarget, token: nil))
        }
        guard let slot = route.tokenSlotReference, !fields.contains(refreshHeader) else {
            return nil
        }
        // Unsafe only in that nothing retains the slot for the call: the route does. The
        // token is borrowed from the slot (the loop's cached read), not retained.
        return slot._withUnsafeGuaranteedRef {
            $0.withProxyToken { held in
                guard let held, held.isUsable(atNanoseconds: now) else { return nil }
                return .forward(makeForward(route, upstreamTarget, token: held))
            }
        }
    }

    /// The forward for `route`, with `token`'s `Authorization` (nil: none injected).
    func makeForward(_ route: ProxyRouterRoute, _ upstreamTarget: String, token: ProxyToken?)
        -> ProxyForward
    {
        ProxyForward(
            template: route.forwardTemplate, target: upstreamTarget,
            authorization: token?.authorization.value, tokenGeneration: token?.generation ?? "")
    }

    func forward(
        _ head: HTTPRequestHead, upstreamTarget: String, route: ProxyRouterRoute,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        let forward = makeForward(route, upstreamTarget, token: nil)
        switch guardRequest(head, route: route, forward: forward) {
        case .pass:
            return withToken(head, route: route, forward: forward, completion: completion)
        case .refuse(let refusal):
            return .now(.respond(refusal))
        case .check(let token, let routeGuard):
            // The caller's token is not in the guard's cache: introspect off the loop, then
            // go on with the token step (which may wait again) from the completion.
            Self.completeLater(timeout: tokenTimeout) {
                await self.guardCheck(token, routeGuard)
            } completion: { [forward] result in
                switch self.guardFinished(result, forward: forward, route: route.name) {
                case .refuse(let refusal):
                    completion(.respond(refusal))
                case .allow:
                    let answer = self.withToken(
                        head, route: route, forward: forward, completion: completion)
                    if case .now(let decision) = answer { completion(decision) }
                }
            }
            return .later
        }
    }

    /// The token step of `forward`: the client's own credentials where the route keeps them,
    /// none for a route without a credential, else the cached token now or a fetch later.
    func withToken(
        _ head: HTTPRequestHead, route: ProxyRouterRoute, forward: ProxyForward,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        let configured = route.route
        if configured.keepClientAuthorization, head.fields.contains("Authorization") {
            return .now(.forward(forward))
        }
        guard let credential = configured.credential else { return .now(.forward(forward)) }
        let forceRefresh = head.fields.contains(refreshHeader)
        if let held = cachedToken(credential, forceRefresh: forceRefresh) {
            // The fast path builds no closure.
            return .now(Self.decision(.success(held), forward: forward, credential: credential))
        }
        let tokens = self.tokens
        Self.completeLater(timeout: tokenTimeout) {
            forceRefresh
                ? try await tokens.refresh(credential)
                : try await tokens.token(credential, minValid: Limits.Proxy.minimumTokenValidity)
        } completion: { [forward] result in
            completion(Self.decision(result, forward: forward, credential: credential))
        }
        return .later
    }

    /// `forward` with the token, or the 503 when none came.
    static func decision(
        _ result: Result<TokenStore.Snapshot, any Error>, forward: ProxyForward,
        credential: String
    ) -> ProxyDecision {
        switch result {
        case .success(let held):
            forward.authorization = bearer(held)
            forward.tokenGeneration = generation(of: held)
            return .forward(forward)
        case .failure(let error):
            return .respond(
                tokenUnavailable(route: forward.routeName, credential: credential, error))
        }
    }

    /// The cached token when it is valid for `Limits.Proxy.minimumTokenValidity` more (the
    /// fast path, on the loop, no hop), else nil: then the token service is asked. A forced
    /// refresh skips the cache unless it is very fresh.
    func cachedToken(_ name: String, forceRefresh: Bool) -> TokenStore.Snapshot? {
        guard let held = tokens.cachedToken(name, minValid: Limits.Proxy.minimumTokenValidity),
            !forceRefresh
                || ContinuousClock.now - held.receivedAt < Limits.Proxy.minimumForcedRefreshInterval
        else { return nil }
        return held
    }

    static func bearer(_ held: TokenStore.Snapshot) -> String {
        held.value.authorization.value
    }

    /// Identifies a token without revealing it: the serial number its `IssuedToken` got when
    /// it arrived (every fetch makes a new one). Equal generations mean the same token.
    static func generation(of held: TokenStore.Snapshot) -> String {
        held.value.generation
    }
}
