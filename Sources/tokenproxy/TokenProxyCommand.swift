import ArgumentParser
import FoundationEssentials
import TokenProxy
import TokenProxyCore

/// `tokenproxy`: the root command. Each subcommand is a small type in its own file; the work
/// happens in the TokenProxy module.
@main
struct TokenProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenproxy",
        abstract:
            "Holds OAuth service-user keys, turns them into access tokens and hands them out.",
        discussion: """
            Exit statuses follow sysexits.h: 64 usage, 65 malformed key, 66 missing file, \
            69 IdP unavailable, 75 temporary failure, 77 credential rejected by the IdP, \
            78 configuration.
            """,
        version: "tokenproxy \(BuildInfo.version) (Swift \(BuildInfo.swiftVersion))",
        subcommands: [
            ServeCommand.self, DevCommand.self, CheckCommand.self, TokenCommand.self,
            StatusCommand.self,
            FetchCommand.self, AssertionCommand.self, ExecCommand.self, IntrospectCommand.self,
        ]
    )

    static func main() async {
        ProcessRuntime.prepare()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options naming a key file, shared by the commands that sign.
struct KeyOptions: ParsableArguments {
    @Option(
        name: .long, help: "ZITADEL key JSON (serviceaccount or application) or a PEM private key.")
    var key: String

    @Option(
        name: .customLong("client-id"),
        help: "iss/sub of the assertion; required for PEM keys, overrides the key JSON.")
    var clientID: String?

    @Option(name: .customLong("key-id"), help: "JWS kid header; overrides the key JSON's keyId.")
    var keyID: String?

    @Flag(
        name: .customLong("allow-insecure-key-permissions"),
        help: "Accept a key file that group or others can read.")
    var allowInsecureKeyPermissions = false

    var arguments: OneShot.KeyArguments {
        OneShot.KeyArguments(
            path: key, clientID: clientID, keyID: keyID,
            allowInsecurePermissions: allowInsecureKeyPermissions)
    }
}

/// Prints a failure the way every subcommand does and exits with its status.
func reportFailure(_ failure: OneShot.Failure) -> ExitCode {
    Terminal.writeError("tokenproxy: error: \(failure.message)\n")
    return ExitCode(failure.status.rawValue)
}

/// Prints a warning line on standard error.
func warn(_ text: String) {
    Terminal.writeError("tokenproxy: warning: \(text)\n")
}
