import Foundation
import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserProxyTests {
    typealias F = ConfigFixture

    static let route =
        #"{"host": "api.example.com", "upstream": "https://api.example.com", "credential": "a"}"#

    /// A document with credentials `a` and `zitadel-admin` and the given `proxy` body.
    static func withProxy(_ body: String) -> String {
        #"{"credentials": {"a": {\#(F.credential)}, "zitadel-admin": {\#(F.credential)}}, "proxy": {\#(body)}}"#
    }

    /// A proxy listening on loopback with one route of the given body.
    static func withRoute(_ body: String) -> String {
        withProxy(#""listen": ["127.0.0.1:8787"], "routes": [{\#(body)}]"#)
    }

    static func problems(route body: String) -> [String] { F.problems(withRoute(body)) }

    @Test func parsesEveryProxyOption() throws {
        let proxy = try #require(
            try F.parse(
                Self.withProxy(
                    #"""
                    "listen": ["127.0.0.1:8787", "[::1]:8787", "unix:/run/tokenproxy/proxy.sock"],
                    "routes": [
                      {"host": "API.example.com", "upstream": "https://api.example.com", "credential": "zitadel-admin"},
                      {"path_prefix": "/zitadel/", "strip_prefix": true, "upstream": "https://my.zitadel.cloud/base",
                       "credential": "a", "keep_client_authorization": true, "forwarded_headers": true,
                       "ca_file": "/etc/ca.pem", "client_certificate": "/etc/c.pem", "client_key": "/etc/c.key",
                       "allow_insecure_key_permissions": true},
                      {"host": "legacy.lan:8080", "upstream": "http://legacy.lan:8080", "credential": "a", "allow_plain_http": true}
                    ],
                    "tunnels": ["github.com:443", "[2001:db8::1]:8443"], "refresh_header": "X-Refresh",
                    "max_replay_body_bytes": 0, "connect_timeout": 2.5, "response_timeout": 30,
                    "header_read_timeout": 5, "idle_timeout": 90, "max_connections": 10
                    """#)
            ).proxy)
        #expect(
            proxy.listen == [
                .tcp(host: "127.0.0.1", port: 8787), .tcp(host: "::1", port: 8787),
                .unix(path: "/run/tokenproxy/proxy.sock"),
            ])
        #expect(proxy.routes.map(\.name) == ["api.example.com", "/zitadel/", "legacy.lan:8080"])
        let zitadel = proxy.routes[1]
        #expect(
            zitadel
                == ProxyRoute(
                    pathPrefix: "/zitadel/", stripPrefix: true,
                    upstream: URL(string: "https://my.zitadel.cloud/base")!,
                    credential: "a", keepClientAuthorization: true, forwardedHeaders: true,
                    caFile: "/etc/ca.pem",
                    clientCertificateFile: "/etc/c.pem", clientKeyFile: "/etc/c.key",
                    allowInsecureKeyPermissions: true))
        #expect(proxy.routes[2].allowPlainHTTP)
        #expect(
            proxy.tunnels == [
                ProxyTunnel(host: "github.com", port: 443),
                ProxyTunnel(host: "2001:db8::1", port: 8443),
            ])
        #expect(proxy.refreshHeader == "X-Refresh")
        #expect(proxy.maxReplayBodyBytes == 0)
        #expect(proxy.connectTimeout == .milliseconds(2500))
        #expect(proxy.responseTimeout == .seconds(30))
        #expect(proxy.headerReadTimeout == .seconds(5))
        #expect(proxy.idleTimeout == .seconds(90))
        #expect(proxy.maxConnections == 10)
    }

    @Test func appliesDefaults() throws {
        let proxy = try #require(
            try F.parse(
                Self.withRoute(
                    #""host": "x.example", "upstream": "https://x.example", "credential": "a""#)
            ).proxy)
        #expect(
            proxy
                == ProxyConfiguration(
                    listen: [.tcp(host: "127.0.0.1", port: 8787)], routes: proxy.routes))
        #expect(proxy.refreshHeader == "X-Tokenproxy-Refresh")
        #expect(try F.parse(F.withCredential(#""grant": "jwt-bearer""#)).proxy == nil)
    }

    @Test func requiresAnObject() {
        #expect(
            F.problems(#"{"proxy": [], "credentials": {"a": {\#(F.credential)}}}"#) == [
                "proxy: expected an object, got an array"
            ])
    }

    @Test func refusesNonLoopbackListenersSayingWhy() {
        let problems = F.problems(
            Self.withProxy(
                #""listen": ["0.0.0.0:8787", "[::]:1", "10.1.2.3:80"], "routes": [\#(Self.route)]"#)
        )
        #expect(problems.count == 3)
        #expect(
            problems.first?.hasPrefix("proxy.listen[0]: 0.0.0.0 is not a loopback address") == true)
        #expect(problems.allSatisfy { $0.contains("an open port would hand them to the network") })
        #expect(
            F.problems(Self.withProxy(#""listen": ["localhost:8787"], "routes": [\#(Self.route)]"#))
                == [
                    #"proxy.listen[0]: use an address, not a name: "127.0.0.1:8787" or "[::1]:8787""#
                ])
    }

    @Test func checksListenShapes() {
        func problems(_ listen: String) -> [String] {
            F.problems(Self.withProxy(#""listen": \#(listen), "routes": [\#(Self.route)]"#))
        }
        #expect(
            problems(#"[]"#) == [
                #"proxy.listen: must contain at least one address, like "127.0.0.1:8787""#
            ])
        #expect(
            problems(#""127.0.0.1:1""#) == [
                "proxy.listen: expected an array of strings, got a string"
            ])
        #expect(
            problems(#"["unix:run/p.sock"]"#)
                == [
                    #"proxy.listen[0]: must be an absolute path like "/run/tokenproxy/tokenproxy.sock""#
                ])
        #expect(
            problems(#"["127.0.0.1:1", "127.0.0.1:1"]"#) == [
                "proxy.listen[1]: duplicate of listen[0]; keep only one"
            ])
        #expect(
            F.problems(
                #"{"credentials": {"a": {\#(F.credential)}}, "proxy": {"routes": [\#(Self.route)]}}"#
            )
                == [
                    #"proxy.listen: required key is missing; add where the proxy listens, like ["127.0.0.1:8787"]"#
                ])
    }

    @Test func refusesTheTokenAPIsOwnSockets() {
        let json =
            #"{"api": {"tcp": {"listen": "127.0.0.1:8181"}}, "credentials": {"a": {\#(F.credential)}}, "proxy": {"listen": ["127.0.0.1:8181", "unix:/run/tokenproxy/tokenproxy.sock"], "routes": [\#(Self.route)]}}"#
        #expect(
            F.problems(json) == [
                "proxy.listen[0]: is already the token API's tcp.listen address; choose another",
                "proxy.listen[1]: is already the token API's socket; choose another",
            ])
    }

    @Test func checksTunnelsAndSettings() {
        func problems(_ body: String) -> [String] {
            F.problems(
                Self.withProxy(#""listen": ["127.0.0.1:1"], "routes": [\#(Self.route)], \#(body)"#))
        }
        #expect(
            problems(#""tunnels": ["github.com"]"#)
                == [
                    #"proxy.tunnels[0]: must be HOST:PORT like "github.com:443" (a CONNECT request always names a port)"#
                ])
        #expect(
            problems(#""refresh_header": "Authorization""#)
                == [
                    #"proxy.refresh_header: Authorization is a field the proxy needs; choose a name of your own like "X-Tokenproxy-Refresh""#
                ])
        #expect(problems(#""refresh_header": "X Refresh""#).count == 1)
        #expect(
            problems(#""max_replay_body_bytes": -1, "max_connections": 1.5, "response_timeout": 0"#)
                == [
                    "proxy.response_timeout: must be between 1 and 3600 seconds (got 0)",
                    "proxy.max_replay_body_bytes: must be between 0 and 16777216 bytes (got -1)",
                    "proxy.max_connections: must be a whole number (got 1.5)",
                ])
        #expect(
            F.problems(Self.withProxy(#""listen": ["127.0.0.1:1"], "routes": []"#)).first?
                .hasPrefix(
                    "proxy.routes: must contain at least one route (or list tunnels)") == true)
        #expect(
            F.problems(Self.withProxy(#""listen": ["127.0.0.1:1"], "tunnels": ["github.com:443"]"#))
                == [])
    }

    @Test func reportsEveryProblemAtOnce() {
        let json = Self.withProxy(
            #""listen": ["0.0.0.0:1"], "routes": [{"upstream": "http://x.example", "credential": "b"}], "tunnels": ["x"]"#
        )
        #expect(
            F.problems(json).map { $0.prefix(while: { $0 != ":" }) } == [
                "proxy.listen[0]", "proxy.routes[0]", "proxy.routes[0].upstream",
                "proxy.routes[0].credential",
                "proxy.tunnels[0]",
            ])
    }

    /// The schema beside the sample must name exactly the keys the parser knows.
    @Test func schemaListsExactlyTheProxyKeys() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../config.schema.json").standardizedFileURL
        let schema = try ConfigJSON.parse([UInt8](try Data(contentsOf: url)))
        func keys(_ node: ConfigJSON?) -> Set<String> {
            guard case .object(let members)? = node?["properties"] else { return [] }
            return Set(members.map(\.key))
        }
        #expect(keys(schema["properties"]?["proxy"]) == Set(ConfigurationParser.proxyKeys))
        #expect(keys(schema["$defs"]?["route"]) == Set(ConfigurationParser.routeKeys))
    }
}
