import Foundation
import Testing

@testable import TokenProxyCore

/// `proxy.routes[].upgrades`: the checks of ConfigurationParser+Upgrades.swift.
@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserUpgradesTests {
    typealias F = ConfigFixture
    typealias P = ConfigurationParserProxyTests

    static func route(upgrades: String) -> String {
        #""host": "x.example", "upstream": "https://x.example", "credential": "a", "upgrades": \#(upgrades)"#
    }

    static func parsed(_ upgrades: String?) throws -> [String]? {
        let body =
            upgrades.map { route(upgrades: $0) }
            ?? #""host": "x.example", "upstream": "https://x.example", "credential": "a""#
        return try F.parse(P.withRoute(body)).proxy?.routes.first?.upgrades
    }

    @Test func defaultsToWebSocketOnly() throws {
        #expect(try Self.parsed(nil) == ["websocket"])
        #expect(ProxyRoute.defaultUpgrades == ["websocket"])
    }

    @Test func emptyRefusesEveryUpgradeAndNamesAreLowercased() throws {
        #expect(try Self.parsed("[]") == [])
        #expect(try Self.parsed(#"["WebSocket", "my-proto.v2"]"#) == ["websocket", "my-proto.v2"])
    }

    @Test func refusesHTTP2AndBadNamesWithTheirPath() {
        #expect(
            P.problems(route: Self.route(upgrades: #"["websocket", "h2c"]"#)) == [
                "proxy.routes[0].upgrades[1]: h2c switches the connection to HTTP/2, after which the proxy would no longer see, route or authorize the requests on it; it is never tunnelled"
            ])
        #expect(
            P.problems(route: Self.route(upgrades: #"["HTTP"]"#)).first?.hasPrefix(
                "proxy.routes[0].upgrades[0]: HTTP switches the connection to HTTP/2") == true)
        #expect(
            P.problems(route: Self.route(upgrades: #"["web socket"]"#)) == [
                "proxy.routes[0].upgrades[0]: must be a protocol name: letters, digits and !#$%&'*+-.^_`|~ (RFC 9110 §7.8)"
            ])
        #expect(
            P.problems(route: Self.route(upgrades: #"["websocket/13"]"#)) == [
                #"proxy.routes[0].upgrades[0]: names a protocol without its version, like "websocket" (got "websocket/13")"#
            ])
        #expect(
            P.problems(route: Self.route(upgrades: #"["websocket", "WebSocket"]"#)) == [
                #"proxy.routes[0].upgrades[1]: lists "WebSocket" twice; remove one"#
            ])
        #expect(
            P.problems(route: Self.route(upgrades: #""websocket""#)) == [
                "proxy.routes[0].upgrades: expected an array of strings, got a string"
            ])
    }
}
