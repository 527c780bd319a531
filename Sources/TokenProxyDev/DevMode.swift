import Foundation
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

        package init(directory: String?, tokenLifetime: Duration, environment: [String: String]) {
            self.directory = directory
            self.tokenLifetime = tokenLifetime
            self.environment = environment
        }
    }

    /// Runs until SIGINT/SIGTERM. `announce` receives the instructions to print.
    package static func run(
        options: Options, logger: Logger, announce: @Sendable (String) -> Void
    ) async throws(OneShot.Failure) {
        let directory = try prepareDirectory(options.directory)
        let keys: DevKeys
        do {
            keys = try DevKeys.generate(in: directory)
        } catch {
            throw OneShot.Failure(
                message: "cannot create throwaway keys in \(directory): \(error)",
                status: .configuration)
        }
        let issuer: DevIssuer
        let issuerServer: HTTPServer
        let issuerURL: URL
        do {
            issuer = try DevIssuer(clients: keys.clients, tokenLifetime: options.tokenLifetime)
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
        let proxySocket = directory + "/proxy.sock"
        let configPath = directory + "/config.json"
        let config = configuration(
            socket: socket, proxySocket: proxySocket, issuer: issuerURL.absoluteString, keys: keys)
        do {
            try FileWriter.replaceAtomically(configPath, contents: Array(config.utf8), mode: 0o600)
        } catch {
            throw OneShot.Failure(
                message: "cannot write \(configPath): \(error)", status: .configuration)
        }
        announce(
            instructions(
                directory: directory, socket: socket, proxySocket: proxySocket,
                issuer: issuerURL.absoluteString, config: configPath))

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
            return (requested as NSString).standardizingPath.hasPrefix("/")
                ? (requested as NSString).standardizingPath
                : FileManager.default.currentDirectoryPath + "/" + requested
        }
        let base = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] ?? NSTemporaryDirectory()
        let path = (base as NSString).appendingPathComponent(
            "tokenproxy-dev-\(ProcessIdentity.processID)")
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

    /// A complete configuration for the two throwaway credentials, and a proxy on a Unix
    /// socket whose `/api/` route guards the issuer's userinfo: the caller needs a token with
    /// scope `profile` (checked by the gateway's introspection), the issuer gets the gateway's.
    static func configuration(socket: String, proxySocket: String, issuer: String, keys: DevKeys)
        -> String
    {
        """
        {
          "api": {"socket": \(JSONText.string(socket)), "socket_mode": "0600"},
          "credentials": {
            "demo": {
              "key_file": \(JSONText.string(keys.serviceUserKeyPath)),
              "issuer": \(JSONText.string(issuer)),
              "grant": "jwt-bearer",
              "scopes": ["openid", "profile"]
            },
            "gateway": {
              "key_file": \(JSONText.string(keys.gatewayKeyPath)),
              "client_id": \(JSONText.string(DevKeys.gatewayClientID)),
              "issuer": \(JSONText.string(issuer)),
              "grant": "client-credentials",
              "scopes": ["dev:read"]
            }
          },
          "proxy": {
            "listen": [\(JSONText.string("unix:" + proxySocket))],
            "routes": [
              {
                "path_prefix": "/api/", "strip_prefix": true, "upstream": \(JSONText.string(issuer)),
                "credential": "gateway",
                "guard": {
                  "credential": "gateway", "require_scopes": ["profile"],
                  "forward_claims": {"sub": "X-Auth-Subject", "scope": "X-Auth-Scope"}
                }
              }
            ]
          },
          "log": {"level": "info"}
        }

        """
    }

    static func instructions(
        directory: String, socket: String, proxySocket: String, issuer: String, config: String
    ) -> String {
        """
        tokenproxy dev: a throwaway issuer at \(issuer) and the daemon on \(socket)
        (keys and config in \(directory); stop with Ctrl-C)

        Try, in another terminal:
          curl --unix-socket \(socket) http://localhost/v1/tokens/demo
          curl --unix-socket \(socket) -H 'Accept: text/plain' http://localhost/v1/tokens/gateway
          tokenproxy token demo --socket \(socket)
          tokenproxy status --socket \(socket)
          curl -H "$(tokenproxy token demo --socket \(socket) --format header)" \(issuer)/oidc/v1/userinfo
          curl --unix-socket \(socket) http://localhost/metrics
          tokenproxy check --config \(config) --online

        Introspection (RFC 7662, cached) and a guarded route (/api/ needs scope 'profile'):
          TOKEN=$(tokenproxy token demo --socket \(socket))
          curl --unix-socket \(socket) -d "token=$TOKEN" http://localhost/v1/introspect/gateway
          tokenproxy introspect gateway "$TOKEN" --socket \(socket)
          curl --unix-socket \(proxySocket) -H "Authorization: Bearer $TOKEN" http://localhost/api/oidc/v1/userinfo
          curl -i --unix-socket \(proxySocket) http://localhost/api/oidc/v1/userinfo   # 401: no token

        """
    }
}
