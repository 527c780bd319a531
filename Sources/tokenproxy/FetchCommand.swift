import ArgumentParser
import FoundationEssentials
import TokenProxy
import TokenProxyCore

extension GrantType: ExpressibleByArgument {}
extension OneShot.OutputFormat: ExpressibleByArgument {}

/// `tokenproxy fetch`: one token exchange, printed.
struct FetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Exchange a signed assertion for an access token once and print it.")

    @OptionGroup var key: KeyOptions

    @Option(
        name: .long, help: "The issuer URL (discovery at ISSUER/.well-known/openid-configuration).")
    var issuer: String

    @Option(
        name: .long,
        help:
            "jwt-bearer (ZITADEL service users) or client-credentials (private_key_jwt). Default follows the key."
    )
    var grant: GrantType?

    @Option(name: .long, help: "A scope to request; repeat for several.")
    var scope: [String] = []

    @Option(name: .long, help: "The assertion's aud (default: the issuer); repeat for several.")
    var audience: [String] = []

    @Option(
        name: .customLong("token-endpoint"), help: "Use this token endpoint instead of discovery.")
    var tokenEndpoint: String?

    @Option(name: .long, help: "An RFC 8707 resource indicator; repeat for several.")
    var resource: [String] = []

    @Option(
        name: .customLong("param"), help: "An extra form parameter name=value; repeat for several.")
    var parameters: [String] = []

    @Option(name: .customLong("ca-file"), help: "Extra trusted CA certificates (PEM) for the IdP.")
    var caFile: String?

    @Option(name: .long, help: "Signing algorithm (default: follows the key).")
    var algorithm: String?

    @Option(name: .long, help: "Assertion lifetime in seconds (1…3600).")
    var lifetime = Int(Limits.Assertion.defaultLifetime.components.seconds)

    @Option(name: .long, help: "json, raw or header.")
    var format: OneShot.OutputFormat = .json

    func validate() throws {
        guard (1...Limits.Assertion.maxLifetime.components.seconds).contains(Int64(lifetime)) else {
            throw ValidationError(
                "--lifetime must be between 1 and \(Limits.Assertion.maxLifetime.components.seconds) seconds"
            )
        }
    }

    func run() async throws {
        let arguments = OneShot.FetchArguments(
            issuer: issuer, grant: grant, scopes: scope, audience: audience,
            tokenEndpoint: tokenEndpoint, resources: resource, parameters: parameters,
            caFile: caFile, algorithm: algorithm, lifetime: lifetime)
        do {
            let (output, warnings) = try await OneShot.fetch(
                key: key.arguments, arguments: arguments, format: format,
                environment: ProcessInfo.processInfo.environment)
            warnings.forEach(warn)
            print(output)
        } catch {
            throw reportFailure(error)
        }
    }
}
