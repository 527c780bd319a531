import ArgumentParser
import FoundationEssentials
import TokenProxy
import TokenProxyCore

/// `tokenproxy exec NAME -- COMMAND…`: a command with the token in its environment.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract:
            "Run a command with a credential's token (from the running daemon) in its environment.",
        discussion: """
            tokenproxy exec api -- ./legacy-client --verbose
            tokenproxy exec api --variable API_TOKEN --on-refresh restart -- ./worker
            Signals (TERM, INT, HUP) are forwarded to the command; tokenproxy exits with its status.
            """)

    @Argument(help: "The credential's name in the configuration.")
    var name: String

    @OptionGroup var socket: SocketOptions

    @Option(name: .long, help: "The environment variable that holds the token.")
    var variable = Limits.Sink.defaultVariable

    @Option(
        name: .customLong("on-refresh"),
        help: "When the daemon's token changes: none, restart, or signal.")
    var onRefresh = "none"

    @Option(name: .long, help: "The signal --on-refresh signal sends (HUP, USR1, USR2, TERM).")
    var signal = "HUP"

    @Option(
        name: .customLong("poll-interval"),
        help: "Seconds between asking the daemon whether the token changed.")
    var pollInterval: Double = Double(Limits.Exec.pollInterval.components.seconds)

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    static let signals: [String: Int32] = ["HUP": 1, "USR1": 10, "USR2": 12, "TERM": 15, "INT": 2]

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command after --") }
        guard ConfigurationParser.isShellVariableName(variable) else {
            throw ValidationError("--variable must match [A-Za-z_][A-Za-z0-9_]*")
        }
        guard ["none", "restart", "signal"].contains(onRefresh) else {
            throw ValidationError("--on-refresh must be none, restart or signal")
        }
        guard Self.signals[signal.uppercased().replacing("SIG", with: "")] != nil
        else { throw ValidationError("--signal must be one of HUP, USR1, USR2, TERM, INT") }
        guard pollInterval >= 0.1 else { throw ValidationError("--poll-interval must be >= 0.1") }
    }

    func run() throws {
        let number = Self.signals[signal.uppercased().replacing("SIG", with: "")]!
        let mode: ExecSupervisor.OnRefresh =
            switch onRefresh {
            case "restart": .restart
            case "signal": .signal(number)
            default: .none
            }
        let supervisor = ExecSupervisor(
            options: .init(
                name: name, socket: socket.path, variable: variable, onRefresh: mode,
                command: command, pollInterval: .milliseconds(Int64(pollInterval * 1000))),
            environment: ProcessInfo.processInfo.environment)
        do {
            throw ExitCode(try supervisor.run())
        } catch let failure as OneShot.Failure {
            throw reportFailure(failure)
        }
    }
}
