import Dispatch
import FoundationEssentials
import Logging
import TokenProxyCore
import TokenProxyPosix
import TokenProxySystemd

#if canImport(Glibc)
    import Glibc
#endif

extension Daemon {
    /// Starts capturing SIGTERM, SIGINT and SIGHUP (and ignores SIGPIPE). Called first thing
    /// in `run`, before anything is announced to systemd, so that a signal sent the moment
    /// `READY=1` arrives — systemd's `restart`, a pod terminating during start-up — is never
    /// lost (see `SignalPipe`); it waits in the stream until `waitForTermination` reads it.
    /// The continuation is returned too, so that the configuration and key watchers can ask for a
    /// reload the way an operator does, by feeding SIGHUP into the same stream. `termination`
    /// is set when SIGTERM or SIGINT arrives, for waits before the stream is read.
    static func captureSignals(noting termination: TerminationFlag? = nil) throws(StartupError)
        -> (AsyncStream<Int32>, AsyncStream<Int32>.Continuation)
    {
        let pipe: SignalPipe
        do {
            try Posix.ignoreSignal(SIGPIPE)
            pipe = try SignalPipe(signals: [SIGTERM, SIGINT, SIGHUP])
        } catch {
            throw StartupError(message: "cannot handle signals: \(error)", status: .osError)
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        // A thread of its own: reading the pipe blocks, which must not hold a Swift
        // concurrency thread. It lives as long as the process (serve ends with _exit).
        do {
            try Posix.startThread(name: "tokenproxy.signals") {
                while let number = pipe.next() {
                    if number != SIGHUP { termination?.set() }
                    continuation.yield(number)
                }
                continuation.finish()
            }
        } catch {
            throw StartupError(message: "cannot handle signals: \(error)", status: .osError)
        }
        return (stream, continuation)
    }

    /// Waits for SIGTERM or SIGINT from `signals`; SIGHUP reloads in the meantime. Nothing
    /// runs in signal context: the handler only writes a byte (`SignalPipe`).
    func waitForTermination(_ signals: AsyncStream<Int32>) async {
        for await number in signals {
            if number == SIGHUP {
                await reload()
            } else {
                logger.info("received \(number == SIGTERM ? "SIGTERM" : "SIGINT")")
                return
            }
        }
    }

    /// Re-reads the configuration and keys. A broken file changes nothing (the error is
    /// logged); a good one replaces the token store, which takes over the tokens of credentials
    /// whose key and issuer did not change (`Daemon+Reload.swift`); listeners follow the new
    /// addresses (`Daemon+Listeners.swift`).
    func reload() async {
        notifier.reloading()
        defer {
            fileMappingsToRelease.withLock { $0 = true }
            notifier.ready(status: "reloaded")
        }
        let loaded: (Configuration, [Credential])
        do {
            loaded = try Self.loadConfiguration(
                path: options.configurationPath, environment: options.environment)
        } catch {
            logger.error("reload refused, keeping the running configuration: \(error.message)")
            return
        }
        let (configuration, credentials) = loaded
        guard let current = currentRunning() else { return }
        let adopting = await handovers(
            from: current.store, to: credentials, configuration: configuration)
        let store: TokenStore
        let proxyRouter: ProxyRouter?
        do {
            store = try makeStore(
                configuration: configuration, credentials: credentials, metrics: current.metrics,
                adopting: adopting)
            proxyRouter = try makeProxyRouter(
                configuration: configuration, store: store, metrics: current.metrics)
        } catch {
            logger.error("reload refused, keeping the running configuration: \(error.message)")
            return
        }
        current.handler.swap(
            makeAPI(
                configuration: configuration, store: store, metrics: current.metrics,
                audit: current.audit))
        // The proxy's new routes take over with the new store; listener changes come last.
        if let proxyRouter { current.proxy?.slot.swap(proxyRouter) }
        replaceStore(store)
        sinks.configure((try? ResolvedSink.resolve(configuration).get()) ?? [])
        watchKeys(configuration)
        await retire(current.store)
        await store.start()
        // Last: removing the proxy waits for its exchanges in flight.
        await reloadListeners(
            configuration, proxyRouter: proxyRouter, store: store, running: current)
        logger.info(
            "configuration reloaded",
            metadata: ["credentials": "\(credentials.map(\.name).joined(separator: ","))"])
    }

    /// Pings systemd's watchdog at half the interval it asked for, from a Dispatch timer: a
    /// wedged process stops pinging and gets restarted.
    func startWatchdog() -> DispatchSourceTimer? {
        guard let interval = notifier.watchdogInterval else { return nil }
        let half = interval / 2
        let nanoseconds =
            Int(half.components.seconds) * 1_000_000_000
            + Int(half.components.attoseconds / 1_000_000_000)
        let timer = DispatchSource.makeTimerSource(
            queue: DispatchQueue(label: "tokenproxy.watchdog"))
        let notifier = self.notifier
        timer.schedule(deadline: .now(), repeating: .nanoseconds(max(nanoseconds, 1_000_000)))
        timer.setEventHandler { notifier.watchdogPing() }
        timer.resume()
        return timer
    }

    /// Logs what operators need to see: failures always, successes at info.
    static func log(_ event: TokenServiceEvent, logger: Logger) {
        switch event {
        case .fetchStarted(let name, let reason):
            logger.debug(
                "token fetch started",
                metadata: ["credential": "\(name)", "reason": "\(reason.rawValue)"])
        case .fetchSucceeded(let name, let reason, let latency, let lifetime):
            logger.info(
                "token refreshed",
                metadata: [
                    "credential": "\(name)", "reason": "\(reason.rawValue)",
                    "latency_ms":
                        "\(latency.components.seconds * 1000 + latency.components.attoseconds / 1_000_000_000_000_000)",
                    "lifetime_s": "\(lifetime.components.seconds)",
                ])
        case .fetchFailed(let name, let reason, let category, _, let retryIn, let message):
            // One line per failure: what happened is in the fields (`error`, `category`), so
            // `journalctl TP_CATEGORY=credential_rejected` and JSON log readers find it.
            let metadata: Logger.Metadata = [
                "credential": "\(name)", "reason": "\(reason.rawValue)",
                "category": "\(category.rawValue)", "error": "\(message)",
                "retry_in_s": "\(retryIn.components.seconds)",
            ]
            if category == .credentialRejected {
                logger.error(
                    "the IdP rejected the credential (key revoked or expired?); retrying slowly",
                    metadata: metadata)
            } else if category == .requestRejected {
                logger.error(
                    "the IdP rejected the token request (scope, grant or token endpoint?); retrying slowly",
                    metadata: metadata)
            } else {
                logger.warning(
                    "token fetch failed; the valid token (if any) is still served",
                    metadata: metadata)
            }
        case .tokenExpired(let name):
            logger.error(
                "token expired before it could be refreshed; requests now get 503",
                metadata: ["credential": "\(name)"])
        }
    }
}
