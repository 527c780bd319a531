import Glibc
import Logging
import TokenProxyCore

extension Daemon {
    /// The tokens the running store hands to the one a reload builds: a credential whose
    /// key, issuer, request settings and refresh policy are unchanged keeps its token and
    /// schedule; one whose settings changed keeps serving its token while a new one is fetched
    /// at once; one whose key or issuer changed (or that is new) starts empty. Logged per
    /// credential, so an operator sees which ones will ask the IdP.
    func handovers(
        from store: TokenStore, to credentials: [Credential], configuration: Configuration
    ) async -> [String: TokenHandover<IssuedToken>] {
        let held = await store.service.handover()
        let running = Dictionary(
            store.credentials.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let now = ContinuousClock.now
        var result: [String: TokenHandover<IssuedToken>] = [:]
        for credential in credentials {
            let nextPolicy = configuration.credentials.first { $0.name == credential.name }
                .map { RefreshPolicy($0.refresh) }
            let change =
                running[credential.name].map {
                    $0.reloadChange(
                        to: credential, policy: store.policies[credential.name],
                        nextPolicy: nextPolicy)
                } ?? .replace
            logger.info(
                "reload",
                metadata: [
                    "credential": "\(credential.name)", "token": "\(Self.describe(change))",
                ])
            guard let handover = held[credential.name] else { continue }
            switch change {
            case .unchanged: result[credential.name] = handover
            case .refetch: result[credential.name] = handover.refreshingAt(now)
            case .replace: break
            }
        }
        return result
    }

    /// Stops the replaced store's schedule at once and shuts it down in the background once
    /// the callers parked on its fetches have their answers.
    func retire(_ store: TokenStore) async {
        await store.service.retire()
        Task { await store.service.shutdownWhenIdle(maximumWait: Limits.Reload.maximumDrain) }
    }

    /// Starts watching key files; a change asks for a reload through the signal stream, as a
    /// SIGHUP would, so a key rotated on disk is used without one.
    func startKeyWatcher(reloadRequests: AsyncStream<Int32>.Continuation) {
        let logger = self.logger
        let watcher = KeyWatcher(interval: Limits.Reload.keyPollInterval) { paths in
            logger.info(
                "key file changed on disk; reloading",
                metadata: ["files": "\(paths.joined(separator: ","))"])
            reloadRequests.yield(SIGHUP)
        }
        keyWatcher.withLock { $0 = watcher }
    }

    /// Points the key watcher at the key files of `configuration`.
    func watchKeys(_ configuration: Configuration) {
        let directory = options.environment["CREDENTIALS_DIRECTORY"]
        let paths = configuration.credentials.compactMap {
            $0.keySource.path(credentialsDirectory: directory)
        }
        keyWatcher.withLock { $0 }?.watch(paths)
    }

    private static func describe(_ change: Credential.ReloadChange) -> String {
        switch change {
        case .unchanged: "kept (settings and key unchanged)"
        case .refetch: "kept while a new one is fetched (settings changed)"
        case .replace: "fetched anew (new credential, or key or issuer changed)"
        }
    }
}
