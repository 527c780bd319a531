import ArgumentParser
import FoundationEssentials
import Logging
import TokenProxy
import TokenProxyCore
import TokenProxyDev

/// `tokenproxy dev`: try everything with no IdP.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract:
            "Run the daemon against an embedded throwaway issuer on loopback, to try tokenproxy.")

    @Option(
        name: .long,
        help: "Directory for the throwaway keys, config and socket (default: a new temporary one).")
    var dir: String?

    @Option(name: .customLong("token-lifetime"), help: "Lifetime of the issued tokens in seconds.")
    var tokenLifetime: Int = 300

    @Option(
        name: .customLong("proxy-port"),
        help: "Loopback port of the proxy (default: a free one).")
    var proxyPort: Int?

    func validate() throws {
        guard (2...86_400).contains(tokenLifetime) else {
            throw ValidationError("--token-lifetime must be between 2 and 86400 seconds")
        }
        if let proxyPort, !(1...65_535).contains(proxyPort) {
            throw ValidationError("--proxy-port must be between 1 and 65535")
        }
    }

    func run() async throws {
        bootstrapLogging(level: .info)
        do {
            try await DevMode.run(
                options: DevMode.Options(
                    directory: dir, tokenLifetime: .seconds(tokenLifetime),
                    environment: ProcessInfo.processInfo.environment, proxyPort: proxyPort),
                logger: Logger(label: "tokenproxy"),
                announce: { text in
                    Terminal.writeOutput(text + "\n")
                })
        } catch {
            throw reportFailure(error)
        }
        ProcessRuntime.exitAfterShutdown(0)
    }
}
