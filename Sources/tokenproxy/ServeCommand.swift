import ArgumentParser
import FoundationEssentials
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

    @Option(
        name: .customLong("log-level"),
        help: """
            Least severe level logged: trace, debug, info, notice, warning, error, critical \
            (default: $TOKENPROXY_LOG_LEVEL, else the config's log.level).
            """)
    var logLevel: String?

    @Option(
        name: .customLong("log-format"),
        help:
            "text (default; the journal's structured fields under systemd) or json (one object per line on stderr)."
    )
    var logFormat: LogFormat = .text

    @Flag(
        name: .customLong("ready-after-tokens"),
        help:
            "Tell systemd READY=1 only once every credential holds its first token (default: as soon as the sockets listen)."
    )
    var readyAfterTokens = false

    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    func validate() throws {
        if let logLevel, LogLevel(rawValue: logLevel) == nil {
            throw ValidationError(
                "--log-level must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(logLevel)')"
            )
        }
    }

    func run() async throws {
        // Before any key is read: see Daemon.isolateKeys (its notice is logged by the daemon).
        Daemon.isolateKeys()
        let environment = ProcessInfo.processInfo.environment
        let path = ConfigLoader.path(explicit: config, environment: environment)
        let loaded: (Configuration, [Credential])
        do {
            loaded = try Daemon.loadConfiguration(path: path, environment: environment)
        } catch {
            throw reportFailure(OneShot.Failure(message: error.message, status: error.status))
        }
        let level: LogLevel
        do {
            level = try Self.logLevel(
                flag: logLevel, environment: environment, configured: loaded.0.log.level)
        } catch {
            throw reportFailure(error)
        }
        bootstrapLogging(level: level, json: logFormat == .json)
        let daemon = Daemon(
            options: Daemon.Options(
                configurationPath: path, environment: environment,
                readyAfterTokens: readyAfterTokens, watchConfiguration: watchConfig),
            logger: Logger(label: "tokenproxy"))
        do {
            try await daemon.run(loaded: loaded)
        } catch {
            throw reportFailure(OneShot.Failure(message: error.message, status: error.status))
        }
        ProcessRuntime.exitAfterShutdown(0)
    }
}

extension ServeCommand {
    /// `--log-level`, else `TOKENPROXY_LOG_LEVEL`, else the config file's `log.level`.
    static func logLevel(flag: String?, environment: [String: String], configured: LogLevel)
        throws(OneShot.Failure) -> LogLevel
    {
        if let flag, let level = LogLevel(rawValue: flag) { return level }
        guard let text = environment["TOKENPROXY_LOG_LEVEL"], !text.isEmpty else {
            return configured
        }
        guard let level = LogLevel(rawValue: text.lowercased()) else {
            throw OneShot.Failure(
                message:
                    "TOKENPROXY_LOG_LEVEL must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(text)')",
                status: .usage)
        }
        return level
    }
}

/// JSON lines when asked; else the journal when stderr is the journal (structured fields),
/// plain stderr lines otherwise.
func bootstrapLogging(level: LogLevel, json: Bool = false) {
    let swiftLevel = Logger.Level(rawValue: level.rawValue) ?? .info
    let useJournal = JournalLogHandler.stderrIsJournal
    LoggingSystem.bootstrap { label in
        if json {
            var handler = JSONLogHandler(label: label)
            handler.logLevel = swiftLevel
            return handler
        }
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
