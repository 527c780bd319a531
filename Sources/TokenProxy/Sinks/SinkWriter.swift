import Dispatch
import FoundationEssentials
import Logging
import Synchronization
import TokenProxyCore
import TokenProxyPosix

/// Writes each credential's token to its sink files whenever the token service accepts a new
/// one, then runs the sink's command. One per daemon, kept across reloads (`configure` takes
/// the new sinks); all file work happens on one serial queue, off the token service's actor,
/// and always writes the token current *at write time* — a burst of refreshes coalesces.
/// A failed write or command is logged with the sink's path and never stops the daemon; the
/// token API keeps serving either way.
package final class SinkWriter: Sendable {
    /// The current token of a credential (the daemon's current store).
    package typealias Source = @Sendable (String) -> TokenSnapshot<IssuedToken>?

    private struct State {
        var sinks: [ResolvedSink] = []
        var source: Source?
        /// What each sink path last received, so a reload rewrites only new or changed sinks.
        var written: [String: ObjectIdentifier] = [:]
    }

    private let queue = DispatchQueue(label: "tokenproxy.sinks")
    private let state = Mutex(State())
    private let logger: Logger
    private let environment: [String: String]

    /// `environment` is passed to commands (with `TOKENPROXY_CREDENTIAL` and `TOKENPROXY_SINK`).
    package init(logger: Logger, environment: [String: String]) {
        self.logger = logger
        self.environment = environment
    }

    /// Where tokens come from; set once the store exists.
    package func setSource(_ source: @escaping Source) {
        state.withLock { $0.source = source }
    }

    /// Takes the sinks of a (re)loaded configuration and writes those that are new or changed
    /// if their credential already has a token.
    package func configure(_ sinks: [ResolvedSink]) {
        let names = state.withLock { state -> [String] in
            let changed = sinks.filter { !state.sinks.contains($0) }
            state.sinks = sinks
            for sink in changed { state.written[sink.configuration.path] = nil }
            return Array(Set(changed.map(\.credential)))
        }
        for name in names { tokenAccepted(name) }
    }

    /// A new token for `name` was accepted: write its sinks (asynchronously).
    package func tokenAccepted(_ name: String) {
        queue.async { self.write(name) }
    }

    /// Waits for writes in flight, then removes the files of sinks with `remove_on_exit`.
    package func shutdown() {
        queue.sync {
            for sink in state.withLock({ $0.sinks }) where sink.configuration.removeOnExit {
                do {
                    try FileWriter.removeRegularFile(sink.configuration.path)
                } catch {
                    logger.warning(
                        "cannot remove token sink \(sink.configuration.path): \(error)",
                        metadata: ["credential": "\(sink.credential)"])
                }
            }
        }
    }

    /// Waits until every write queued so far is done (tests, shutdown ordering).
    package func waitUntilIdle() { queue.sync {} }

    private func write(_ name: String) {
        let (sinks, source) = state.withLock { state in
            (state.sinks.filter { $0.credential == name }, state.source)
        }
        guard !sinks.isEmpty, let snapshot = source?(name) else { return }
        let identity = ObjectIdentifier(snapshot)
        let now = Int64(Date().timeIntervalSince1970)
        for sink in sinks {
            let path = sink.configuration.path
            if state.withLock({ $0.written[path] }) == identity { continue }
            let contents = SinkContents.render(
                sink.configuration.format, variable: sink.configuration.variable,
                token: snapshot.value, expiresAt: snapshot.expiresAtUnix, now: now)
            do {
                try FileWriter.replaceSecurely(
                    path, contents: contents.value, ownership: sink.ownership)
            } catch {
                logger.error(
                    "cannot write token sink \(path): \(error)", metadata: ["credential": "\(name)"]
                )
                continue
            }
            state.withLock { $0.written[path] = identity }
            logger.debug(
                "token written to sink", metadata: ["credential": "\(name)", "sink": "\(path)"])
            runCommand(of: sink)
        }
    }

    private func runCommand(of sink: ResolvedSink) {
        let command = sink.configuration.command
        guard !command.isEmpty else { return }
        var environment = self.environment
        environment["TOKENPROXY_CREDENTIAL"] = sink.credential
        environment["TOKENPROXY_SINK"] = sink.configuration.path
        let outcome = SinkCommand.run(
            command, environment: environment, timeout: sink.configuration.commandTimeout)
        let metadata: Logger.Metadata = [
            "credential": "\(sink.credential)", "sink": "\(sink.configuration.path)",
            "command": "\(command[0])",
        ]
        switch outcome {
        case .succeeded:
            logger.debug("sink command done", metadata: metadata)
        case .failed(let status, let output):
            let quoted = output.isEmpty ? "" : ": \(output)"
            logger.error(
                "sink command failed with status \(status) (the token file is written; fix the command)\(quoted)",
                metadata: metadata)
        case .timedOut(let timeout):
            logger.error(
                "sink command did not finish within \(timeout) and was stopped (raise command_timeout or fix the command)",
                metadata: metadata)
        case .couldNotStart(let reason):
            logger.error("sink command could not start: \(reason)", metadata: metadata)
        }
    }
}
