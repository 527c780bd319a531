import Dispatch
import Logging
import Synchronization
import TokenProxyCore
import TokenProxyPosix

#if canImport(Glibc)
    import Glibc
#endif

extension Daemon {
    /// One version of the configuration file, as `stat` (following links) sees it. A
    /// Kubernetes ConfigMap update swaps the directory the file's link leads into, so the
    /// inode changes; an editor that rewrites in place changes size or modification time.
    struct ConfigFileVersion: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
        var size: Int
        var modified: Int64

        init(_ status: FileStatus) {
            device = status.device
            inode = status.inode
            size = status.size
            modified = status.modified
        }

        /// The file's version now; nil while it is missing or unreadable (mid-swap).
        static func current(_ path: String) -> ConfigFileVersion? {
            guard let status = try? Posix.pathStatus(path) else { return nil }
            return ConfigFileVersion(status)
        }
    }

    /// The last version the watcher saw, owned by its timer.
    final class ConfigWatchState: Sendable {
        let seen: Mutex<ConfigFileVersion?>
        init(_ version: ConfigFileVersion?) { seen = Mutex(version) }

        /// Records `version`; true when it differs from the last one (and is there at all).
        func changed(to version: ConfigFileVersion?) -> Bool {
            guard let version else { return false }
            return seen.withLock { seen in
                defer { seen = version }
                return seen != version
            }
        }
    }

    /// With `options.watchConfiguration`, looks at the configuration file every
    /// `Limits.Config.watchInterval` and, when it changed, feeds SIGHUP into the daemon's
    /// signal stream: the reload is the one an operator's SIGHUP runs (a broken file is
    /// refused and the running configuration kept), and reloads never overlap. `since` is the
    /// version seen when the daemon started loading, so a change made while it started up
    /// still counts.
    func startConfigWatcher(
        reloads: AsyncStream<Int32>.Continuation, since: ConfigFileVersion?
    ) -> DispatchSourceTimer? {
        guard options.watchConfiguration else { return nil }
        let path = options.configurationPath
        let state = ConfigWatchState(since)
        let logger = self.logger
        let interval = Limits.Config.watchInterval.components
        let nanoseconds =
            Int(interval.seconds) * 1_000_000_000 + Int(interval.attoseconds / 1_000_000_000)
        let timer = DispatchSource.makeTimerSource(
            queue: DispatchQueue(label: "tokenproxy.config-watch"))
        timer.schedule(
            deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds),
            leeway: .milliseconds(500))
        timer.setEventHandler {
            guard state.changed(to: ConfigFileVersion.current(path)) else { return }
            logger.info("configuration file changed, reloading", metadata: ["path": "\(path)"])
            reloads.yield(SIGHUP)
        }
        timer.resume()
        logger.info("watching the configuration file", metadata: ["path": "\(path)"])
        return timer
    }
}
