import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// The state machine's side of the `Upgrade` allow-list: what a `101` may switch to.
@Suite(.timeLimit(.minutes(1)))
struct ProxyConnectionStateMachineUpgradeTests {
    typealias T = ProxyConnectionStateMachineTests

    @Test func anUpgradeOutsideTheAllowListIsAPlainRequestAndItsSwitchRefused() {
        // h2c offered (alone or next to websocket) on a websocket-only route: a 101 to h2c is
        // refused (the upstream was never offered it), the request otherwise goes on as usual.
        var h2c = T.machine()
        _ = h2c.readable(
            T.bytes(
                "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"))
        #expect(
            h2c.routeDecided(.forward(allowedUpgrades: ["websocket"])) == .forward(.buffered([])))
        #expect(h2c.responseHeadReceived(T.response(101, ["Upgrade": "h2c"])) == .refuseSwitch)
        var both = T.machine()
        _ = both.readable(
            T.bytes(
                "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c, websocket\r\n\r\n"
            ))
        _ = both.routeDecided(.forward(allowedUpgrades: ["websocket"]))
        #expect(both.responseHeadReceived(T.response(101, ["Upgrade": "h2c"])) == .refuseSwitch)
        // A normal answer to the stripped request is relayed and the connection kept.
        var plain = T.machine()
        _ = plain.readable(
            T.bytes("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"))
        _ = plain.routeDecided(.forward(allowedUpgrades: ["websocket"]))
        #expect(
            plain.responseHeadReceived(T.response(200, ["Content-Length": "0"]))
                == .relay(.length(0), connection: .none))
        // An empty allow-list refuses even websocket.
        var none = T.machine()
        _ = none.readable(
            T.bytes(
                "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"))
        _ = none.routeDecided(.forward(allowedUpgrades: []))
        #expect(
            none.responseHeadReceived(T.response(101, ["Upgrade": "websocket"])) == .refuseSwitch)
    }

    /// `Request` keeps the client's offer from the head it no longer holds, and filters it at
    /// routing exactly as `ProxyHeaders.allowedUpgrades` filters the head's.
    @Test func theRequestFiltersItsKeptOfferAsTheAllowListFiltersTheHead() {
        let heads = [
            T.head(
                "GET", "/", ["Connection": "Upgrade", "Upgrade": "h2c, WebSocket/13, websocket"]),
            T.head("GET", "/", ["Connection": "keep-alive, upgrade", "Upgrade": "foo/2"]),
            // `Connection` does not name it: no offer.
            T.head("GET", "/", ["Upgrade": "websocket"]),
            T.head(
                "GET", "/", version: .http1_0, ["Connection": "Upgrade", "Upgrade": "websocket"]),
            T.head(),
        ]
        let lists: [[String]] = [[], ["websocket"], ["foo", "websocket"], ["h2c"]]
        for head in heads {
            for allowed in lists {
                var request = T.Machine.Request(head: head)
                #expect(request.offersUpgrade == ProxyHeaders.isUpgradeRequest(head))
                request.allowUpgrades(allowed)
                #expect(request.upgrades == ProxyHeaders.allowedUpgrades(head, allowed: allowed))
            }
        }
    }

    /// What `Request` keeps of the head instead of the head: method, version, `Expect`.
    @Test func theRequestKeepsWhatTheMachineAsksOfTheHead() {
        let get = T.Machine.Request(head: T.head())
        #expect(get.isHTTP11 && !get.isHTTP10 && !get.isHEAD && !get.isCONNECT)
        #expect(!get.expectsContinue && !get.offersUpgrade)
        let head = T.Machine.Request(head: T.head("HEAD", "/", version: .http1_0))
        #expect(head.isHEAD && head.isHTTP10 && !head.isHTTP11 && !head.isCONNECT)
        let connect = T.Machine.Request(head: T.head("CONNECT", "h:443"))
        #expect(connect.isCONNECT && !connect.isHEAD)
        let continuing: HTTPFields = ["Expect": "100-continue", "Content-Length": "3"]
        #expect(T.Machine.Request(head: T.head("POST", "/", continuing)).expectsContinue)
        // An HTTP/1.0 client cannot have meant it.
        #expect(
            !T.Machine.Request(head: T.head("POST", "/", version: .http1_0, continuing))
                .expectsContinue)
    }
}
