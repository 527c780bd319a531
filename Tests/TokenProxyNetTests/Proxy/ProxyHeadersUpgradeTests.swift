import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// The `Upgrade` allow-list: only the route's protocols are offered upstream; `h2c` never is.
@Suite(.timeLimit(.minutes(1)))
struct ProxyHeadersUpgradeTests {
    static func forward(upgrades: [String] = ["websocket"]) -> ProxyForward {
        ProxyForward(
            upstream: ProxyUpstream(scheme: "http", host: "127.0.0.1", port: 80), tls: nil,
            target: "/", hostHeader: "127.0.0.1", authorization: "Bearer t", routeName: "r",
            upgrades: upgrades)
    }

    static func head(_ fields: HTTPFields, version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        var all: HTTPFields = ["Host": "h"]
        for field in fields { all.append(field.name, field.value) }
        return HTTPRequestHead(method: "GET", target: "/", version: version, fields: all)
    }

    static func upstream(_ head: HTTPRequestHead, upgrades: [String] = ["websocket"])
        -> HTTPRequestHead
    {
        ProxyHeaders.upstreamRequest(
            head, forward: forward(upgrades: upgrades), clientAddress: nil, via: "v")
    }

    @Test func h2cIsRemovedWithHTTP2SettingsAndTheRequestGoesAsPlainHTTP() {
        let out = Self.upstream(
            Self.head([
                "Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c",
                "HTTP2-Settings": "AAMAAABkAAQAAP__", "X-Keep": "1",
            ]))
        #expect(!out.fields.contains("Upgrade"))
        #expect(!out.fields.contains("HTTP2-Settings"))
        #expect(!out.fields.contains("Connection"))
        #expect(out.fields["X-Keep"] == "1")
        // Even when the route would allow it (the parser refuses that) and without a
        // `Connection` naming it, `HTTP2-Settings` never goes upstream.
        let stray = Self.upstream(Self.head(["HTTP2-Settings": "AAMAAABkAAQAAP__"]))
        #expect(!stray.fields.contains("HTTP2-Settings"))
    }

    @Test func onlyAllowedProtocolsOfASeveralProtocolOfferAreKept() {
        let head = Self.head([
            "Connection": "keep-alive, Upgrade", "Upgrade": "h2c, WebSocket, foo/2",
        ])
        #expect(ProxyHeaders.allowedUpgrades(head, allowed: ["websocket"]) == ["WebSocket"])
        #expect(
            ProxyHeaders.allowedUpgrades(head, allowed: ["websocket", "foo"])
                == ["WebSocket", "foo/2"])
        let out = Self.upstream(head, upgrades: ["websocket", "foo"])
        #expect(out.fields.values("Connection") == ["Upgrade"])
        #expect(out.fields.values("Upgrade") == ["WebSocket, foo/2"])
    }

    @Test func anEmptyAllowListOrAnOfferWithoutConnectionUpgradeIsPlain() {
        let websocket = Self.head(["Connection": "Upgrade", "Upgrade": "websocket"])
        #expect(ProxyHeaders.allowedUpgrades(websocket, allowed: []) == [])
        let refused = Self.upstream(websocket, upgrades: [])
        #expect(!refused.fields.contains("Upgrade") && !refused.fields.contains("Connection"))
        // `Upgrade` without `Connection: upgrade` (RFC 9110 §7.8), or from HTTP/1.0: no offer.
        #expect(
            ProxyHeaders.allowedUpgrades(
                Self.head(["Upgrade": "websocket"]), allowed: ["websocket"]) == [])
        #expect(
            ProxyHeaders.allowedUpgrades(
                Self.head(["Connection": "Upgrade", "Upgrade": "websocket"], version: .http1_0),
                allowed: ["websocket"]) == [])
    }

    @Test func aSwitchMustNameAnOfferedProtocol() {
        func response(_ upgrade: String?) -> HTTPResponseHead {
            HTTPResponseHead(status: 101, fields: upgrade.map { ["Upgrade": $0] } ?? [:])
        }
        #expect(ProxyHeaders.switchMatchesOffer(response("websocket"), offered: ["WebSocket"]))
        #expect(ProxyHeaders.switchMatchesOffer(response("foo/3"), offered: ["foo/2"]))
        #expect(!ProxyHeaders.switchMatchesOffer(response("h2c"), offered: ["websocket"]))
        #expect(!ProxyHeaders.switchMatchesOffer(response(nil), offered: ["websocket"]))
        #expect(!ProxyHeaders.switchMatchesOffer(response("websocket"), offered: []))
    }
}
