import ArgumentParser
import FoundationEssentials
import TokenProxy
import TokenProxyCore

/// `tokenproxy introspect`: is a token active? Through the daemon (`NAME TOKEN`, cached) or
/// once with a key file (`--key FILE --issuer URL TOKEN`). Exit 0: active; 1: not active;
/// other statuses: it could not be asked (sysexits, as `fetch`).
struct IntrospectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "introspect",
        abstract: "Ask the IdP whether an access token is active (RFC 7662) and print its answer.",
        discussion: """
            tokenproxy introspect api -- "$TOKEN"                  (through the daemon, cached)
            tokenproxy introspect --key app.json --issuer https://idp.example.com -- "$TOKEN"
            A TOKEN of - (or none) is read from standard input; put -- before a TOKEN (it may start
            with -). Exit status: 0 active, 1 not active.
            """)

    @Argument(help: "NAME TOKEN (through the daemon) or TOKEN (with --key).")
    var arguments: [String] = []

    @Option(name: .long, help: "An application key JSON (or PEM key): ask the IdP directly.")
    var key: String?

    @Option(name: .customLong("client-id"), help: "The client id; required for PEM keys.")
    var clientID: String?

    @Option(name: .customLong("key-id"), help: "JWS kid header; overrides the key JSON's keyId.")
    var keyID: String?

    @Flag(
        name: .customLong("allow-insecure-key-permissions"),
        help: "Accept a key file that group or others can read.")
    var allowInsecureKeyPermissions = false

    @Option(name: .long, help: "The issuer URL (with --key).")
    var issuer: String?

    @Option(
        name: .customLong("introspection-endpoint"),
        help: "Use this endpoint instead of discovery's introspection_endpoint.")
    var introspectionEndpoint: String?

    @Option(name: .long, help: "The client assertion's aud (default: the issuer); repeatable.")
    var audience: [String] = []

    @Option(name: .customLong("ca-file"), help: "Extra trusted CA certificates (PEM) for the IdP.")
    var caFile: String?

    @Option(name: .long, help: "Signing algorithm (default: follows the key).")
    var algorithm: String?

    @Option(name: .customLong("token-type-hint"), help: "access_token or refresh_token.")
    var tokenTypeHint: String?

    @OptionGroup var socket: SocketOptions

    func validate() throws {
        let most = key == nil ? 2 : 1
        guard arguments.count <= most, key != nil || !arguments.isEmpty else {
            throw ValidationError(
                key == nil
                    ? "give NAME TOKEN (through the daemon), or --key FILE --issuer URL TOKEN"
                    : "with --key give only the TOKEN")
        }
        if key != nil, issuer == nil { throw ValidationError("--key needs --issuer") }
    }

    func run() async throws {
        let outcome: OneShot.IntrospectOutcome
        do {
            if let key, let issuer {
                let token = try readToken(arguments.first)
                outcome = try await OneShot.introspect(
                    key: OneShot.KeyArguments(
                        path: key, clientID: clientID, keyID: keyID,
                        allowInsecurePermissions: allowInsecureKeyPermissions),
                    arguments: OneShot.IntrospectArguments(
                        issuer: issuer, endpoint: introspectionEndpoint, audience: audience,
                        caFile: caFile, algorithm: algorithm, hint: tokenTypeHint),
                    token: token, environment: ProcessInfo.processInfo.environment)
            } else {
                let token = try readToken(arguments.count > 1 ? arguments[1] : nil)
                outcome = try DaemonCommands.introspect(
                    name: arguments[0], token: token, socket: socket.path)
            }
        } catch {
            throw reportFailure(error)
        }
        print(outcome.json)
        if !outcome.active { throw ExitCode(ExitStatus.inactive.rawValue) }
    }

    /// The token argument, or standard input's first line for `-` or none (keeps the token
    /// out of `ps` and shell history).
    private func readToken(_ argument: String?) throws(OneShot.Failure) -> Redacted<String> {
        var text = argument ?? "-"
        if text == "-" {
            text = String(decoding: Terminal.readInput(), as: UTF8.self).trimmingWhitespace()
        }
        guard !text.isEmpty else {
            throw OneShot.Failure(message: "no token given (argument or stdin)", status: .usage)
        }
        return Redacted(text)
    }
}
