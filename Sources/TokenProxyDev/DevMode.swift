import FoundationEssentials
import Logging
import TokenProxy
import TokenProxyCore
import TokenProxyNet
import TokenProxyPosix

/// `tokenproxy dev`: the daemon against an embedded issuer on loopback, with throwaway keys,
/// so a new user sees everything work in one command. Writes a real configuration file next
/// to the keys and runs the ordinary daemon on it, so what works here works in production.
package enum DevMode {
    /// Settings for a dev session.
    package struct Options: Sendable {
        /// Where keys, config and socket go; a fresh temporary directory when nil.
        package var directory: String?
        package var tokenLifetime: Duration
        package var environment: [String: String]
        /// The proxy's loopback port; a free one when nil.
        package var proxyPort: Int?

        package init(
            directory: String?, tokenLifetime: Duration, environment: [String: String],
            proxyPort: Int? = nil
        ) {
            self.directory = directory
            self.tokenLifetime = tokenLifetime
            self.environment = environment
            self.proxyPort = proxyPort
        }
    }

    /// Runs until SIGINT/SIGTERM. `announce` receives the instructions to print.
    package static func run(
        options: Options, logger: Logger, announce: @Sendable (String) -> Void
    ) async throws(OneShot.Failure) {
        let directory = try prepareDirectory(options.directory)
        let keys: DevKeys
        let apiKey: DevAPIKey
        do {
            keys = try DevKeys.generate(in: directory)
            apiKey = try DevAPIKey.generate(in: directory)
        } catch {
            throw OneShot.Failure(
                message: "cannot create throwaway keys in \(directory): \(error)",
                status: .configuration)
        }
        let issuer: DevIssuer
        let issuerServer: HTTPServer
        let issuerURL: URL
        do {
            issuer = try DevIssuer(
                clients: keys.clients + [apiKey.client], tokenLifetime: options.tokenLifetime)
            let listener = try Listener.tcp(host: "127.0.0.1", port: 0, name: "dev-issuer")
            issuerServer = HTTPServer(
                listeners: [listener], handler: issuer, configuration: HTTPServerConfiguration())
            issuerServer.start()
            guard let port = issuerServer.boundPort("dev-issuer"),
                let url = URL(string: "http://127.0.0.1:\(port)")
            else {
                throw OneShot.Failure(message: "the dev issuer did not bind", status: .unavailable)
            }
            issuerURL = url
            try issuer.setIssuer(url)
        } catch let failure as OneShot.Failure {
            throw failure
        } catch {
            throw OneShot.Failure(
                message: "cannot start the dev issuer: \(error)", status: .unavailable)
        }

        let socket = directory + "/tokenproxy.sock"
        let configPath = directory + "/config.json"
        let proxyPort: Int
        if let requested = options.proxyPort {
            proxyPort = requested
        } else {
            proxyPort = try freeLoopbackPort()
        }
        let session = Session(
            directory: directory, socket: socket, issuer: issuerURL.absoluteString,
            config: configPath, proxyPort: proxyPort, keys: keys, apiKeyPath: apiKey.path)
        let config = configuration(session)
        do {
            try FileWriter.replaceAtomically(configPath, contents: Array(config.utf8), mode: 0o600)
        } catch {
            throw OneShot.Failure(
                message: "cannot write \(configPath): \(error)", status: .configuration)
        }
        announce(
            instructions(
                session, executable: ownExecutable(),
                path: options.environment["PATH"] ?? ""))

        let daemon = Daemon(
            options: Daemon.Options(
                configurationPath: configPath, environment: options.environment),
            logger: logger)
        do {
            try await daemon.run()
        } catch {
            await issuerServer.shutdown(gracePeriod: .seconds(1))
            removeIfTemporary(directory, requested: options.directory)
            throw OneShot.Failure(message: error.message, status: error.status)
        }
        await issuerServer.shutdown(gracePeriod: .seconds(1))
        removeIfTemporary(directory, requested: options.directory)
    }

    /// Throwaway keys do not outlive the session unless the user chose where they go.
    static func removeIfTemporary(_ directory: String, requested: String?) {
        guard requested == nil else { return }
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func prepareDirectory(_ requested: String?) throws(OneShot.Failure) -> String {
        if let requested {
            do {
                try FileManager.default.createDirectory(
                    atPath: requested, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            } catch {
                throw OneShot.Failure(
                    message: "cannot create \(requested): \(error)", status: .configuration)
            }
            // Absolute (a relative path is taken from the working directory), `.`/`..` resolved.
            return URL(fileURLWithPath: requested).standardizedFileURL.path
        }
        let environment = ProcessInfo.processInfo.environment
        var base = environment["XDG_RUNTIME_DIR"] ?? environment["TMPDIR"] ?? "/tmp"
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        let path = base + "/tokenproxy-dev-\(ProcessIdentity.processID)"
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw OneShot.Failure(
                message: "cannot create \(path): \(error)", status: .configuration)
        }
        return path
    }
}
