import ArgumentParser
import TokenProxy
import TokenProxyCore

/// `tokenproxy assertion`: prints one signed RFC 7523 assertion.
struct AssertionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assertion",
        abstract: "Print a signed JWT assertion (RFC 7523) for a key.")

    @OptionGroup var key: KeyOptions

    @Option(
        name: .long,
        help:
            "The aud claim; repeat for several (default: the issuer, which this command needs then)."
    )
    var audience: [String] = []

    @Option(name: .long, help: "The issuer URL, used as aud when --audience is not given.")
    var issuer: String?

    @Option(name: .long, help: "Lifetime in seconds (1…3600).")
    var lifetime = Int(Limits.Assertion.defaultLifetime.components.seconds)

    @Option(
        name: .long,
        help: "RS256…RS512, PS256…PS512, ES256/ES384/ES512 or EdDSA (default: follows the key).")
    var algorithm: String?

    func validate() throws {
        if audience.isEmpty && issuer == nil {
            throw ValidationError(
                "pass --audience URL (or --issuer URL to use the issuer as audience)")
        }
        guard (1...Limits.Assertion.maxLifetime.components.seconds).contains(Int64(lifetime)) else {
            throw ValidationError(
                "--lifetime must be between 1 and \(Limits.Assertion.maxLifetime.components.seconds) seconds"
            )
        }
    }

    func run() async throws {
        let audience = self.audience.isEmpty ? [issuer!] : self.audience
        do {
            let jws = try OneShot.assertion(
                key: key.arguments, audience: audience, lifetime: lifetime, algorithm: algorithm)
            print(jws)
        } catch {
            throw reportFailure(error)
        }
    }
}
