import ArgumentParser
import Foundation
import Logging
import TokenProxy
import TokenProxyCore
import TokenProxySystemd

/// `tokenproxy serve`: the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: keep tokens fresh and serve them on the Unix socket.")

    @Option(
        name: .long,
        help: "Configuration file (default: $TOKENPROXY_CONFIG or /etc/tokenproxy/config.json).")
    var config: String?

    @Flag(
        name: .customLong("watch-config"),
        help:
            "Reload when the configuration file changes, as on SIGHUP (for a Kubernetes ConfigMap)."
    )
    var watchConfig = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let path = ConfigLoader.path(explicit: config, environment: environment)
        let loaded: (Configuration, [Credential])
        do {
            loaded = try Daemon.loadConfiguration(path: path, environment: environment)
        } catch {
            throw reportFailure(OneShot.Failure(message: error.message, status: error.status))
        }
        bootstrapLogging(level: loaded.0.log.level)
        let daemon = Daemon(
            options: Daemon.Options(
                configurationPath: path, environment: environment, watchConfiguration: watchConfig),
            logger: Logger(label: "tokenproxy"))
        do {
            try await daemon.run(loaded: loaded)
        } catch {
            throw reportFailure(OneShot.Failure(message: error.message, status: error.status))
        }
        ProcessRuntime.exitAfterShutdown(0)
    }
}

/// Journal when stderr is the journal (structured fields), plain stderr lines otherwise.
func bootstrapLogging(level: LogLevel) {
    let swiftLevel = Logger.Level(rawValue: level.rawValue) ?? .info
    let useJournal = JournalLogHandler.stderrIsJournal
    LoggingSystem.bootstrap { label in
        if useJournal {
            var handler = JournalLogHandler(label: label)
            handler.logLevel = swiftLevel
            return handler
        }
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = swiftLevel
        return handler
    }
}
