import FoundationEssentials
import TokenProxy
import TokenProxyNet

extension DevMode {
    /// Where one dev session put everything: what the configuration and the printed commands
    /// are made of.
    struct Session: Sendable {
        var directory: String
        var socket: String
        var issuer: String
        var config: String
        var proxyPort: Int
        var keys: DevKeys
        var apiKeyPath: String

        /// The proxy's base URL (`http_proxy` for legacy apps, or the reverse-proxy form).
        var proxyURL: String { "http://127.0.0.1:\(proxyPort)" }
    }

    /// The host name legacy apps call through the proxy in dev mode (`.test` is reserved for
    /// exactly this, RFC 6761 §6.2, so it never means a real host).
    static let apiHost = "api.dev.test"
    /// The path prefix of the reverse-proxy route.
    static let apiPathPrefix = "/dev-api/"
    /// The path prefix of the guarded route: the caller's token must carry scope `profile`
    /// (checked by introspection with the API application key), the issuer gets the gateway's.
    static let guardedPathPrefix = "/guarded/"

    /// A loopback TCP port free at this moment, for the proxy listener (the daemon binds it
    /// again from the configuration file; another process taking it in between makes the
    /// daemon fail with a clear "address in use" error).
    static func freeLoopbackPort() throws(OneShot.Failure) -> Int {
        do {
            let probe = try Listener.tcp(host: "127.0.0.1", port: 0, name: "dev-proxy-probe")
            defer { probe.close() }
            guard let port = probe.port else {
                throw OneShot.Failure(
                    message: "no free loopback port for the dev proxy", status: .unavailable)
            }
            return port
        } catch let failure as OneShot.Failure {
            throw failure
        } catch {
            throw OneShot.Failure(
                message: "no free loopback port for the dev proxy: \(error)", status: .unavailable)
        }
    }

    /// This binary's absolute path (Linux: `/proc/self/exe`), so that the printed commands
    /// run it even when it is not on `PATH`.
    static func ownExecutable() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return path
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    /// Whether `tokenproxy` typed in a shell with this `PATH` runs `executable`.
    static func isOnPath(_ executable: String, path: String) -> Bool {
        let target = URL(fileURLWithPath: executable).resolvingSymlinksInPath().path
        for entry in path.split(separator: ":") where !entry.isEmpty {
            let candidate = String(entry) + "/tokenproxy"
            guard FileManager.default.isExecutableFile(atPath: candidate) else { continue }
            return URL(fileURLWithPath: candidate).resolvingSymlinksInPath().path == target
        }
        return false
    }
}
