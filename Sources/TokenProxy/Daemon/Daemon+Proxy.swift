import Logging
import TokenProxyCore
import TokenProxyNet
import TokenProxyPosix
import TokenProxySystemd

/// The injecting proxy's part of the daemon: built from the `proxy` section next to the token
/// API, started after it, stopped before it; a reload swaps its routes (listeners stay).
extension Daemon {
    /// The proxy's long-lived pieces.
    struct ProxyParts: Sendable {
        /// What the engine asks; a reload swaps the router inside.
        var slot: ProxyRouterSlot
        var engine: ProxyEngine
        /// The addresses listened on, to tell an operator that a reload did not move them.
        var listen: [ProxyListenAddress]
    }

    /// `TOKENPROXY_BENCH_NO_QUICKACK=1` turns `TCP_QUICKACK` off on upstream sockets. A switch
    /// for `bench/quickack.sh` to show what the option saves, not a setting: never set it in
    /// production.
    static let noQuickAckVariable = "TOKENPROXY_BENCH_NO_QUICKACK"

    /// `FileDescriptorName=` of a socket systemd passes for the proxy (the others are the API's).
    static let proxySocketName = "proxy"

    /// systemd's sockets, read once: `sd_listen_fds` unsets its variables on the first call,
    /// and both the token API and the proxy pick theirs from the same list.
    static let inheritedSockets = SocketActivation.inheritedSockets()

    /// The router for `configuration.proxy` over `store`, or nil when there is no proxy.
    /// Fails on an unusable TLS file of a route, naming its key.
    func makeProxyRouter(configuration: Configuration, store: TokenStore, metrics: Metrics)
        throws(StartupError) -> ProxyRouter?
    {
        guard let proxy = configuration.proxy else { return nil }
        let api = configuration.api
        do {
            return try ProxyRouter(
                configuration: proxy, tokens: store, introspection: store.introspector,
                access: TokenAPI.AccessPolicy(
                    allowsAnyPeer: api.allowsAnyPeer, allowedUIDs: Set(api.allowedUIDs),
                    allowedGIDs: Set(api.allowedGIDs), ownUID: ProcessIdentity.userID),
                rules: Self.accessRules(configuration).rules,
                metrics: metrics, logger: logger, file: options.configurationPath)
        } catch {
            throw StartupError(message: "\(error)", status: .configuration)
        }
    }

    /// Builds the proxy (listeners bound, not yet accepting) on the process's `loops`, or nil
    /// when none is configured.
    func makeProxy(
        configuration: Configuration, store: TokenStore, metrics: Metrics, loops: EventLoopGroup
    ) throws(StartupError) -> ProxyParts? {
        guard let proxy = configuration.proxy,
            let router = try makeProxyRouter(
                configuration: configuration, store: store, metrics: metrics)
        else { return nil }
        for route in proxy.routes
        where route.allowPlainHTTP && route.upstream.scheme?.lowercased() == "http" {
            logger.warning(
                "proxy route sends its token over plain http (allow_plain_http); anyone on the path can read it",
                metadata: ["route": "\(route.name)", "credential": "\(route.credential ?? "-")"])
        }
        let listeners: [Listener]
        do {
            listeners = try proxyListeners(proxy, api: configuration.api)
        } catch {
            throw StartupError(message: "proxy cannot listen: \(error)", status: .configuration)
        }
        let slot = ProxyRouterSlot(router)
        let engine = ProxyEngine(
            listeners: listeners, delegate: slot,
            configuration: ProxyEngineConfiguration(
                headerReadTimeout: proxy.headerReadTimeout, idleTimeout: proxy.idleTimeout,
                connectTimeout: proxy.connectTimeout, responseTimeout: proxy.responseTimeout,
                maxReplayBodyBytes: proxy.maxReplayBodyBytes, maxConnections: proxy.maxConnections,
                upstreamQuickAck: options.environment[Self.noQuickAckVariable] != "1"),
            loops: loops)
        return ProxyParts(slot: slot, engine: engine, listen: proxy.listen)
    }

    /// Starts accepting proxy connections.
    func startProxy(_ proxy: ProxyParts?) {
        guard let proxy else { return }
        proxy.engine.start()
        logger.info(
            "proxy listening",
            metadata: [
                "listen": "\(proxy.listen.map(\.description).joined(separator: ","))",
                "routes": "\(proxy.slot.router.routes.map(\.name).joined(separator: ","))",
            ])
    }

    /// After a validated reload: the new routes and store take over; listeners stay as they are.
    func swapProxy(_ router: ProxyRouter?, configuration: Configuration, running: Running) {
        guard let proxy = running.proxy else {
            if router != nil {
                logger.warning("the proxy section was added; the proxy starts on restart")
            }
            return
        }
        if let router {
            proxy.slot.swap(router)
        } else if let empty = try? ProxyRouter(
            configuration: ProxyConfiguration(listen: [], routes: []), tokens: running.store,
            logger: logger, file: options.configurationPath)
        {
            // No section any more: refuse everything until the restart closes the listeners.
            proxy.slot.swap(empty)
            logger.warning(
                "the proxy section was removed; the proxy refuses all requests until restart")
        }
        if let listen = configuration.proxy?.listen, listen != proxy.listen {
            logger.warning(
                "proxy.listen changed; the proxy keeps its current listeners until restart")
        }
    }

    /// systemd's sockets named `proxy` when it passed any, otherwise the configured addresses.
    /// Unix sockets get the token API's mode and group: they reach the same tokens' power.
    func proxyListeners(_ proxy: ProxyConfiguration, api: APIConfiguration) throws -> [Listener] {
        let inherited = Self.inheritedSockets.filter { $0.name == Self.proxySocketName }
        if !inherited.isEmpty {
            return try inherited.map {
                try Listener.inherited(fileDescriptor: $0.fileDescriptor, name: $0.name)
            }
        }
        var listeners: [Listener] = []
        do {
            for address in proxy.listen {
                switch address {
                case .tcp(let host, let port):
                    listeners.append(
                        try Listener.tcp(host: host, port: Int(port), name: Self.proxySocketName))
                case .unix(let path):
                    listeners.append(
                        try Listener.unix(
                            path: path, mode: api.socketMode, group: api.socketGroup,
                            name: Self.proxySocketName))
                }
            }
        } catch {
            for listener in listeners { listener.close() }
            throw error
        }
        return listeners
    }
}
