import ArgumentParser
import FoundationEssentials
import TokenProxy
import TokenProxyCore

/// `tokenproxy check`: validate the configuration (and keys); `--online` fetches each token.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration and key files; with --online, fetch each token once.")

    @Option(
        name: .long,
        help: "Configuration file (default: $TOKENPROXY_CONFIG or /etc/tokenproxy/config.json).")
    var config: String?

    @Flag(name: .long, help: "Also fetch one token per credential and report the result.")
    var online = false

    func run() async throws {
        // `check` reads every key too (it runs as ExecStartPre): same isolation as `serve`.
        Daemon.isolateKeys()
        let environment = ProcessInfo.processInfo.environment
        let path = ConfigLoader.path(explicit: config, environment: environment)
        let (report, ok, status) = await DaemonCommands.check(
            path: path, online: online, environment: environment)
        if ok {
            print(report)
        } else {
            Terminal.writeError(report + "\n")
            throw ExitCode(status.rawValue)
        }
    }
}
