import ArgumentParser
import FoundationEssentials
import TokenProxy
import TokenProxyCore

extension DaemonCommands.TokenFormat: ExpressibleByArgument {}

/// Options naming the daemon's socket.
struct SocketOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The daemon's socket (default: $TOKENPROXY_SOCKET or /run/tokenproxy/tokenproxy.sock).")
    var socket: String?

    var path: String {
        DaemonClient.socketPath(explicit: socket, environment: ProcessInfo.processInfo.environment)
    }
}

/// `tokenproxy token NAME`: a token from the running daemon.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a credential's current token from the running daemon.",
        discussion: """
            curl -H "$(tokenproxy token api --format header)" https://api.example.com/
            set -a; eval "$(tokenproxy token api --format env)"; set +a
            kubectl: users[].user.exec = {command: tokenproxy, args: [token, NAME, --format, exec-credential], apiVersion: client.authentication.k8s.io/v1}
            """)

    @Argument(help: "The credential's name in the configuration.")
    var name: String

    @OptionGroup var socket: SocketOptions

    @Option(
        name: .customLong("min-valid"), help: "Refresh first when fewer seconds than this remain.")
    var minValid: Int?

    @Option(name: .long, help: "raw, json, header, env or exec-credential.")
    var format: DaemonCommands.TokenFormat = .raw

    @Option(name: .long, help: "The variable name of --format env.")
    var variable = Limits.Sink.defaultVariable

    func validate() throws {
        guard ConfigurationParser.isShellVariableName(variable) else {
            throw ValidationError("--variable must match [A-Za-z_][A-Za-z0-9_]*")
        }
    }

    func run() throws {
        do {
            print(
                try DaemonCommands.token(
                    name: name, socket: socket.path, minValid: minValid, format: format,
                    variable: variable))
        } catch {
            throw reportFailure(error)
        }
    }
}

/// `tokenproxy status`: every credential's freshness.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each credential's state, time to expiry and last error (never a token).")

    @OptionGroup var socket: SocketOptions

    func run() throws {
        do {
            let (text, allValid) = try DaemonCommands.status(socket: socket.path)
            print(text)
            if !allValid { throw ExitCode(Int32(ExitStatus.temporaryFailure.rawValue)) }
        } catch let error as OneShot.Failure {
            throw reportFailure(error)
        }
    }
}
