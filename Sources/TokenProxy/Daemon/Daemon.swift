import Dispatch
import FoundationEssentials
import Logging
import Synchronization
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet
import TokenProxyPosix
import TokenProxySystemd

/// `tokenproxy serve`: owns the long-lived parts — the token store (refresh schedules), the
/// token API server — and the process's relationship with systemd: READY once the sockets
/// listen (never waiting for the IdP), watchdog pings, STOPPING on SIGTERM, a validated reload
/// on SIGHUP. Shutdown runs in reverse start order.
package final class Daemon: Sendable {
    /// What `run` needs besides the configuration file.
    package struct Options: Sendable {
        package var configurationPath: String
        package var environment: [String: String]
        /// Grace period for in-flight requests on SIGTERM.
        package var drainTimeout: Duration
        /// Send `READY=1` only once every credential holds its first token
        /// (`serve --ready-after-tokens`), so units ordered `After=tokenproxy.service` start
        /// with tokens available. Default: ready as soon as the sockets listen.
        package var readyAfterTokens: Bool
        /// Reload when the configuration file changes, as on SIGHUP (`serve --watch-config`;
        /// for a Kubernetes ConfigMap, which no one sends a signal for).
        package var watchConfiguration: Bool

        package init(
            configurationPath: String, environment: [String: String],
            drainTimeout: Duration = Limits.Server.drainTimeout, readyAfterTokens: Bool = false,
            watchConfiguration: Bool = false
        ) {
            self.configurationPath = configurationPath
            self.environment = environment
            self.drainTimeout = drainTimeout
            self.readyAfterTokens = readyAfterTokens
            self.watchConfiguration = watchConfiguration
        }
    }

    /// A start-up failure, with the exit status systemd should see.
    package struct StartupError: Error, CustomStringConvertible {
        package var message: String
        package var status: ExitStatus
        package var description: String { message }
    }

    let options: Options
    let logger: Logger
    let notifier = SystemdNotifier()
    /// Token files; kept across reloads (`Sinks/SinkWriter.swift`).
    let sinks: SinkWriter
    /// Watches key files once serving (`KeyWatcher.swift`, `Daemon+Reload.swift`).
    let keyWatcher = Mutex<KeyWatcher?>(nil)
    /// Whether the next memory trim also drops the page-table entries of start-up code
    /// (`Daemon+Memory.swift`): set at start and by every reload.
    let fileMappingsToRelease = Mutex(true)
    private let running = Mutex<Running?>(nil)

    /// The parts that exist while serving; replaced as a whole on reload.
    struct Running: Sendable {
        var store: TokenStore
        var handler: SwappableHandler
        var server: HTTPServer
        var metrics: Metrics
        /// The injecting proxy, when configured (Daemon+Proxy.swift).
        var proxy: ProxyParts?
        /// Who got which token; kept across reloads.
        var audit: TokenAudit
        /// The operations listener (`/healthz`, `/readyz`, `/metrics` only), when configured,
        /// and the address it listens on.
        var operations: HTTPServer?
        var operationsAddress: OperationsConfiguration?
        /// The process's loops (the token API and the proxy share them).
        var loops: EventLoopGroup
        /// The token API's listeners, for a reload to move (`Daemon+Listeners.swift`).
        var apiListeners: APIListeners
        /// `api.socket` as configured at start-up or by the last reload.
        var apiSocketPath: String
    }

    func currentRunning() -> Running? { running.withLock { $0 } }

    /// Changes the running parts in place (a reload moving listeners).
    func updateRunning(_ body: (inout Running) -> Void) {
        running.withLock { if $0 != nil { body(&$0!) } }
    }

    func replaceStore(_ store: TokenStore) { running.withLock { $0?.store = store } }

    package init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
        self.sinks = SinkWriter(logger: logger, environment: options.environment)
    }

    /// Loads and checks the configuration and every key, then what only the running daemon
    /// would otherwise find (CA files, the socket group), so that `check` refuses exactly what
    /// `serve` would. All problems at once, each with its JSON path.
    package static func loadConfiguration(path: String, environment: [String: String])
        throws(StartupError)
        -> (Configuration, [Credential])
    {
        let configuration: Configuration
        let credentials: [Credential]
        do {
            configuration = try ConfigLoader.load(path: path)
            credentials = try CredentialLoader.load(
                configuration, file: path, environment: environment)
        } catch {
            throw StartupError(message: "\(error)", status: .configuration)
        }
        var problems = accessRules(configuration).problems
        if case .failure(let error) = ResolvedSink.resolve(configuration) {
            problems += error.problems
        }
        if let group = configuration.api.socketGroup, !Listener.groupExists(group) {
            problems.append(
                ConfigurationProblem(
                    path: "api.socket_group",
                    message:
                        "no group '\(group)' on this host: create it (systemd-sysusers, groupadd) or change the setting"
                ))
        }
        var checkedCAFiles: Set<String> = []
        for credential in credentials {
            guard let caFile = credential.caFile, checkedCAFiles.insert(caFile).inserted else {
                continue
            }
            do {
                _ = try TLSClientContext(configuration: TLSClientConfiguration(caFile: caFile))
            } catch {
                problems.append(
                    ConfigurationProblem(
                        path: "credentials.\(credential.name).ca_file", message: "\(error)"))
            }
        }
        guard problems.isEmpty else {
            throw StartupError(
                message: "\(ConfigurationError(file: path, problems: problems))",
                status: .configuration)
        }
        return (configuration, credentials)
    }

    /// Starts everything, then waits for SIGTERM/SIGINT. Returns after a clean shutdown.
    /// `loaded` is the result of `loadConfiguration` when the caller already has it (the
    /// command loads it first to set up logging at the configured level).
    package func run(loaded: (Configuration, [Credential])? = nil) async throws(StartupError) {
        let termination = TerminationFlag()
        // The watcher's first version is the one read now, before the daemon starts serving:
        // an update published right after start (a test, a ConfigMap rollout) is then seen as
        // a change instead of becoming the baseline unread.
        let configVersionAtStart = ConfigFileVersion.current(options.configurationPath)
        let (signals, signalFeed) = try Self.captureSignals(noting: termination)
        if let notice = Self.isolateKeys() { logger.notice("\(notice)") }
        let configuration: Configuration
        let credentials: [Credential]
        if let loaded {
            (configuration, credentials) = loaded
        } else {
            (configuration, credentials) = try Self.loadConfiguration(
                path: options.configurationPath, environment: options.environment)
        }
        let metrics = Metrics()
        let audit = TokenAudit(logger: logger)
        let store = try makeStore(
            configuration: configuration, credentials: credentials, metrics: metrics)
        let handler = SwappableHandler(
            makeAPI(configuration: configuration, store: store, metrics: metrics, audit: audit))
        // One set of loops for the process: the token API and the proxy share them.
        let loops = EventLoopGroup(
            configured: configuration.api.eventLoops, name: "http-loop",
            busyPoll: configuration.api.busyPollMicroseconds)
        metrics.observeLoops({ loops.connectionCounts }, busyPermille: { loops.busyPermilles })
        let server: HTTPServer
        let apiListeners: APIListeners
        do {
            apiListeners = try listeners(for: configuration.api)
            server = HTTPServer(
                listeners: apiListeners.all, handler: handler,
                configuration: HTTPServerConfiguration(
                    maxConnections: configuration.api.maxConnections,
                    eventLoops: configuration.api.eventLoops),
                loops: loops)
        } catch {
            throw StartupError(message: "cannot listen: \(error)", status: .configuration)
        }
        logger.info(
            "event loops",
            metadata: [
                "loops": "\(loops.cpuBudget.loops)", "reason": "\(loops.cpuBudget.reason)",
                "busy_poll_us": "\(loops.busyPollMicroseconds)",
            ])
        let proxy = try makeProxy(
            configuration: configuration, store: store, metrics: metrics, loops: loops)
        let operations = try makeOperationsServer(configuration.operations, tokens: handler)
        loops.start()
        server.start()
        operations?.start()
        startProxy(proxy)
        running.withLock {
            $0 = Running(
                store: store, handler: handler, server: server, metrics: metrics, proxy: proxy,
                audit: audit, operations: operations, operationsAddress: configuration.operations,
                loops: loops, apiListeners: apiListeners, apiSocketPath: configuration.api.socket)
        }
        sinks.setSource { [weak self] in
            self?.currentRunning()?.store.cachedToken($0, minValid: nil)
        }
        sinks.configure((try? ResolvedSink.resolve(configuration).get()) ?? [])
        startKeyWatcher(reloadRequests: signalFeed)
        watchKeys(configuration)
        await store.start()
        logger.info(
            "tokenproxy serving",
            metadata: [
                "socket": "\(configuration.api.socket)",
                "credentials": "\(credentials.map(\.name).joined(separator: ","))",
            ])
        if options.readyAfterTokens {
            await waitForFirstTokens(store, unless: termination)
        }
        notifier.ready(status: StatusLine.text(await store.statuses()))
        let watchdog = startWatchdog()
        let memoryTrimmer = startMemoryTrimmer()
        let timers = [startAuditReports(audit), startStatusUpdates()].compactMap { $0 }
        let configWatcher = startConfigWatcher(reloads: signalFeed, since: configVersionAtStart)
        await waitForTermination(signals)
        configWatcher?.cancel()
        timers.forEach { $0.cancel() }
        audit.report(interval: Limits.Host.auditReportInterval)
        memoryTrimmer.cancel()
        watchdog?.cancel()
        notifier.stopping()
        logger.info("tokenproxy stopping")
        if let current = running.withLock({ $0 }) {
            await current.proxy?.engine.shutdown(gracePeriod: options.drainTimeout)
            await current.server.shutdown(gracePeriod: options.drainTimeout)
            await current.operations?.shutdown(gracePeriod: options.drainTimeout)
            loops.stop()
            await current.store.shutdown()
        }
        sinks.shutdown()
    }

    func makeStore(
        configuration: Configuration, credentials: [Credential], metrics: Metrics,
        adopting: [String: TokenHandover<IssuedToken>] = [:]
    ) throws(StartupError) -> TokenStore {
        var clients: [String: OAuthTokenClient] = [:]
        var byCAFile: [String: OAuthTokenClient] = [:]
        for credential in credentials {
            let key = credential.caFile ?? ""
            if let client = byCAFile[key] {
                clients[credential.name] = client
                continue
            }
            do {
                let client = try OAuthTokenClient(
                    caFile: credential.caFile, environment: options.environment)
                byCAFile[key] = client
                clients[credential.name] = client
            } catch {
                throw StartupError(
                    message: "credentials.\(credential.name).ca_file: \(error)",
                    status: .configuration)
            }
        }
        var policies: [String: RefreshPolicy] = [:]
        for entry in configuration.credentials where entry.fetchTokens {
            policies[entry.name] = RefreshPolicy(entry.refresh)
        }
        let logger = self.logger
        let sinks = self.sinks
        return TokenStore(
            credentials: credentials, policies: policies, adopting: adopting, clients: clients,
            // Fetch failures are logged once, from the `fetchFailed` event (`Daemon.log`), with
            // the message as a field.
            onKeyRejected: { name, message in
                logger.error("\(message)", metadata: ["credential": "\(name)"])
            },
            onEvent: { event in
                if case .fetchSucceeded(let name, _, _, _) = event { sinks.tokenAccepted(name) }
                metrics.record(event)
                Self.log(event, logger: logger)
            }, introspectionCounters: metrics.introspection)
    }

    func makeAPI(
        configuration: Configuration, store: TokenStore, metrics: Metrics, audit: TokenAudit
    ) -> TokenAPI {
        let api = configuration.api
        return TokenAPI(
            store: store, metrics: metrics,
            access: TokenAPI.AccessPolicy(
                allowsAnyPeer: api.allowedUIDs.isEmpty && api.allowedGIDs.isEmpty,
                allowedUIDs: Set(api.allowedUIDs), allowedGIDs: Set(api.allowedGIDs),
                ownUID: ProcessIdentity.userID),
            tcpRequirement: api.tcp.map {
                TokenAPI.TCPRequirement(header: $0.requiredHeader, value: $0.requiredHeaderValue)
            }, rules: Self.accessRules(configuration).rules, audit: audit)
    }
}
