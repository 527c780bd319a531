import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// `RequestFacts` finds in one pass what `HTTPVersion.keepsAlive(with:)`,
/// `ProxyHeaders.requestFraming` and `isUpgradeRequest` decide by lookups: every combination
/// must agree with them.
@Suite(.timeLimit(.minutes(1)))
struct ProxyHeadersRequestFactsTests {
    @Test func agreesWithTheLookupsOnEveryCombination() {
        let connections: [String?] = [
            nil, "close", "keep-alive", "Keep-Alive, Upgrade", "upgrade", "x-foo, CLOSE", "",
        ]
        let framings: [[(String, String)]] = [
            [], [("Content-Length", "12")], [("Transfer-Encoding", "chunked")],
            [("Content-Length", "0")], [("Content-Length", "12, 12")],
            [("content-length", "5"), ("Transfer-Encoding", "chunked")],
        ]
        let upgrades: [String?] = [nil, "websocket", "h2c"]
        for version in [HTTPVersion.http1_1, .http1_0] {
            for connection in connections {
                for framing in framings {
                    for upgrade in upgrades {
                        var fields = HTTPFields([("Host", "h")] + framing)
                        if let connection { fields.append("Connection", connection) }
                        if let upgrade { fields.append("Upgrade", upgrade) }
                        let head = HTTPRequestHead(
                            method: "POST", target: "/", version: version, fields: fields)
                        let facts = ProxyHeaders.RequestFacts(head)
                        #expect(facts.keepAlive == head.keepAlive, "\(fields)")
                        #expect(facts.isUpgradeRequest == ProxyHeaders.isUpgradeRequest(head))
                        #expect(facts.framing == ProxyHeaders.requestFraming(fields))
                        // Both read the fields' facts now: against the lookups by name too.
                        let byLookup: ProxyHeaders.RequestFraming =
                            fields.contains("Transfer-Encoding")
                            ? .chunked
                            : fields.values("Content-Length").first.flatMap { Int($0) }
                                .map { .length($0) } ?? .none
                        #expect(facts.framing == byLookup, "\(fields)")
                    }
                }
            }
        }
    }

    @Test func readsTheFramingTheLookupsRead() {
        let chunked = HTTPFields([("Transfer-Encoding", "chunked"), ("Content-Length", "3")])
        #expect(ProxyHeaders.requestFraming(chunked) == .chunked)
        #expect(ProxyHeaders.requestFraming(["Content-Length": "42"]) == .length(42))
        #expect(ProxyHeaders.requestFraming(["content-length": "0"]) == .length(0))
        #expect(ProxyHeaders.requestFraming(["Content-Length": "1, 1"]) == .none)
        #expect(ProxyHeaders.requestFraming(["Host": "h"]) == .none)
        let twice = HTTPFields([("Content-Length", "7"), ("Content-Length", "9")])
        #expect(ProxyHeaders.requestFraming(twice) == .length(7))
    }
}
