import Foundation
import Testing
import TokenProxyCore

@testable import TokenProxy
@testable import TokenProxyDev

/// What `tokenproxy dev` writes and prints: a configuration the ordinary parser accepts, with
/// the proxy routed to the dev issuer, and commands that work as printed.
@Suite(.timeLimit(.minutes(1)))
struct DevModeTests {
    static func session(directory: String = "/tmp/tp dev") throws -> DevMode.Session {
        DevMode.Session(
            directory: directory, socket: directory + "/tokenproxy.sock",
            issuer: "http://127.0.0.1:40685", config: directory + "/config.json", proxyPort: 41234,
            keys: DevKeys(
                serviceUserKeyPath: directory + "/" + DevKeys.serviceUserFileName,
                serviceUserKeyID: "k", gatewayKeyPath: directory + "/" + DevKeys.gatewayFileName,
                clients: []),
            apiKeyPath: directory + "/" + DevAPIKey.fileName)
    }

    @Test func theConfigurationHasTheProxyRoutedToTheIssuer() throws {
        let text = DevMode.configuration(try Self.session())
        let configuration = try ConfigurationParser.parse(Array(text.utf8), file: "dev.json")
        let proxy = try #require(configuration.proxy)
        #expect(proxy.listen.map { "\($0)" }.joined().contains("41234"))
        // Two injecting routes, and a third that also guards (issue 9).
        #expect(proxy.routes.count == 3)
        #expect(proxy.routes.allSatisfy { $0.upstream.absoluteString == "http://127.0.0.1:40685" })
        #expect(proxy.routes.map(\.credential) == ["demo", "gateway", "gateway"])
        #expect(proxy.routes[0].host == DevMode.apiHost)
        #expect(proxy.routes[1].pathPrefix == DevMode.apiPathPrefix)
        #expect(proxy.routes[2].pathPrefix == DevMode.guardedPathPrefix)
        #expect(proxy.routes[2].guard?.credential == "api")
        let api = try #require(configuration.credential(named: "api"))
        #expect(!api.fetchTokens)
    }

    /// A fresh machine: `tokenproxy` is not on PATH, so the commands carry the full path and
    /// the exports put its directory on PATH.
    @Test func commandsUseTheFullPathWhenNotOnPath() throws {
        let text = DevMode.instructions(
            try Self.session(), executable: "/home/me/tp/.build/release/tokenproxy",
            path: "/usr/bin:/bin")
        #expect(text.contains("  export PATH=/home/me/tp/.build/release:\"$PATH\"\n"))
        #expect(text.contains("  export TOKENPROXY_SOCKET='/tmp/tp dev/tokenproxy.sock'\n"))
        #expect(text.contains("  export TOKENPROXY_PROXY=http://127.0.0.1:41234\n"))
        #expect(
            text.contains(
                "  /home/me/tp/.build/release/tokenproxy token demo --socket '/tmp/tp dev/tokenproxy.sock'\n"
            ))
        #expect(!text.contains("\n  tokenproxy "))
    }

    @Test func commandsSayTokenproxyWhenItIsOnPath() throws {
        let directory = NSTemporaryDirectory() + "devmode-\(UUID().uuidString)"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let executable = directory + "/tokenproxy"
        #expect(
            FileManager.default.createFile(
                atPath: executable, contents: Data("#!/bin/sh\n".utf8),
                attributes: [.posixPermissions: 0o755]))
        let text = DevMode.instructions(
            try Self.session(), executable: executable, path: "/nonexistent:" + directory)
        #expect(!text.contains("export PATH="))
        #expect(text.contains("\n  tokenproxy status --socket '/tmp/tp dev/tokenproxy.sock'\n"))
    }

    @Test func shellQuotingKeepsSafeWordsAndQuotesTheRest() {
        #expect(
            DevMode.shellQuoted("/run/user/1000/tokenproxy-dev-1/x.sock")
                == "/run/user/1000/tokenproxy-dev-1/x.sock")
        #expect(DevMode.shellQuoted("/tmp/a b") == "'/tmp/a b'")
        #expect(DevMode.shellQuoted("/tmp/it's") == "'/tmp/it'\\''s'")
        #expect(DevMode.shellQuoted("$HOME") == "'$HOME'")
    }
}
