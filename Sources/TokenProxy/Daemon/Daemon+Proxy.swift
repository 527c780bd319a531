import Logging
import TokenProxyCore
import TokenProxyNet
import TokenProxyPosix
import TokenProxySystemd

/// The injecting proxy's part of the daemon: built from the `proxy` section next to the token
/// API, started after it, stopped before it; a reload swaps its routes and moves its listeners (`reloadProxy`).
extension Daemon {
    /// The proxy's long-lived pieces.
    struct ProxyParts: Sendable {
        /// What the engine asks; a reload swaps the router inside.
        var slot: ProxyRouterSlot
        var engine: ProxyEngine
        /// The addresses listened on (`proxy.listen`), and the listener of each, in the same
        /// order; a reload compares them with the new addresses.
        var listen: [ProxyListenAddress]
        var bound: [Listener]
        /// True when systemd passed the proxy's sockets: a reload leaves them alone.
        var inherited: Bool
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
        return ProxyParts(
            slot: slot, engine: engine, listen: proxy.listen, bound: listeners,
            inherited: Self.inheritedSockets.contains { $0.name == Self.proxySocketName })
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

    /// After a validated reload: the new routes and store take over, and the listener set
    /// follows `proxy.listen` (addresses that stay keep their socket). A section added starts
    /// an engine on the process's loops; a section removed shuts the engine down gracefully
    /// (exchanges in flight finish).
    func reloadProxy(
        _ router: ProxyRouter?, configuration: Configuration, store: TokenStore, running: Running
    ) async {
        guard let proxy = running.proxy else {
            guard router != nil else { return }
            do {
                let parts = try makeProxy(
                    configuration: configuration, store: store, metrics: running.metrics,
                    loops: running.loops)
                startProxy(parts)
                updateRunning { $0.proxy = parts }
                for address in parts?.listen ?? [] {
                    logger.info("proxy listener added", metadata: ["address": "\(address)"])
                }
            } catch {
                logger.error("\(error.message); the proxy does not start")
            }
            return
        }
        guard let router else {
            // Refuse what arrives until the listeners are closed, then let exchanges finish.
            if let empty = try? ProxyRouter(
                configuration: ProxyConfiguration(listen: [], routes: []), tokens: store,
                logger: logger, file: options.configurationPath)
            {
                proxy.slot.swap(empty)
            }
            updateRunning { $0.proxy = nil }
            await proxy.engine.shutdown(gracePeriod: options.drainTimeout)
            for address in proxy.listen {
                logger.info("proxy listener removed", metadata: ["address": "\(address)"])
            }
            return
        }
        proxy.slot.swap(router)
        guard let listen = configuration.proxy?.listen, listen != proxy.listen else { return }
        guard !proxy.inherited else {
            logger.info(
                "proxy.listen changed, but systemd passed the proxy's sockets; they stay as systemd made them"
            )
            return
        }
        await moveProxyListeners(proxy, to: listen, api: configuration.api)
    }

    /// Binds the addresses of `listen` the proxy does not have yet, then swaps the listener
    /// set; on a bind failure nothing changes (the error names `proxy.listen[i]`).
    private func moveProxyListeners(
        _ proxy: ProxyParts, to listen: [ProxyListenAddress], api: APIConfiguration
    ) async {
        var bound: [Listener] = []
        var added: [Listener] = []
        for (index, address) in listen.enumerated() {
            if let kept = proxy.listen.firstIndex(of: address) {
                bound.append(proxy.bound[kept])
                continue
            }
            do {
                let listener = try proxyListener(address, api: api)
                bound.append(listener)
                added.append(listener)
            } catch {
                for listener in added { listener.close() }
                logger.error(
                    "\(ListenerReloadError(path: "proxy.listen[\(index)]", error: error).description); the proxy keeps its listeners",
                    metadata: ["address": "\(address)"])
                return
            }
        }
        let removed = proxy.listen.indices.filter { !listen.contains(proxy.listen[$0]) }
        await proxy.engine.updateListeners(
            adding: added, removing: removed.map { proxy.bound[$0] })
        updateRunning {
            $0.proxy?.listen = listen
            $0.proxy?.bound = bound
        }
        for index in removed {
            logger.info("proxy listener removed", metadata: ["address": "\(proxy.listen[index])"])
        }
        for address in listen where !proxy.listen.contains(address) {
            logger.info("proxy listener added", metadata: ["address": "\(address)"])
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
            for address in proxy.listen { listeners.append(try proxyListener(address, api: api)) }
        } catch {
            for listener in listeners { listener.close() }
            throw error
        }
        return listeners
    }

    /// A listener on one `proxy.listen` address.
    func proxyListener(_ address: ProxyListenAddress, api: APIConfiguration) throws -> Listener {
        switch address {
        case .tcp(let host, let port):
            try Listener.tcp(host: host, port: Int(port), name: Self.proxySocketName)
        case .unix(let path):
            try Listener.unix(
                path: path, mode: api.socketMode, group: api.socketGroup,
                name: Self.proxySocketName)
        }
    }
}
