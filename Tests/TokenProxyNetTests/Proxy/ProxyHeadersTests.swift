import Testing
import TokenProxyCore

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct ProxyHeadersTests {
    private func forward(authorization: String? = "Bearer injected", forwarded: Bool = false)
        -> ProxyForward
    {
        ProxyForward(
            upstream: ProxyUpstream(scheme: "https", host: "api.example.com", port: 443), tls: nil,
            target: "/v1/users", hostHeader: "api.example.com", authorization: authorization,
            removeHeaders: ["X-Tokenproxy-Refresh"], forwardedHeaders: forwarded, routeName: "r")
    }

    @Test func dropsHopByHopFieldsAndThoseTheConnectionFieldNames() {
        let head = HTTPRequestHead(
            method: "GET", target: "http://api.example.com/v1/users",
            fields: [
                "Host": "api.example.com", "Connection": "keep-alive, X-Foo, Authorization",
                "Keep-Alive": "timeout=5", "Proxy-Connection": "keep-alive", "TE": "trailers",
                "Proxy-Authorization": "Basic eA==", "X-Foo": "1", "X-Bar": "2",
                "Authorization": "Basic client", "X-Tokenproxy-Refresh": "1",
            ])
        let out = ProxyHeaders.upstreamRequest(
            head, forward: forward(), clientAddress: nil, via: "1.1 t")
        let names = out.fields.map(\.name)
        #expect(names == ["Host", "X-Bar", "Via", "Authorization"])
        #expect(out.fields.values("Authorization") == ["Bearer injected"])
        #expect(out.target == "/v1/users")
        #expect(out.version == .http1_1)
    }

    @Test func framingFieldsAreRewrittenByTheEngineEvenWhenTheClientListsThem() {
        let head = HTTPRequestHead(
            method: "POST", target: "/x",
            fields: ["Host": "h", "Connection": "Content-Length, Host", "Content-Length": "5"])
        let out = ProxyHeaders.upstreamRequest(
            head, forward: forward(), clientAddress: nil, via: "v")
        #expect(out.fields["Content-Length"] == "5")
        #expect(out.fields.values("Host") == ["api.example.com"])
        let chunked = HTTPRequestHead(
            method: "POST", target: "/x", fields: ["Host": "h", "Transfer-Encoding": "chunked"])
        let rechunked = ProxyHeaders.upstreamRequest(
            chunked, forward: forward(), clientAddress: nil, via: "v")
        #expect(rechunked.fields.values("Transfer-Encoding") == ["chunked"])
    }

    @Test func keepsTheClientsAuthorizationWhenTheForwardHasNone() {
        let head = HTTPRequestHead(
            method: "GET", target: "/", fields: ["Host": "h", "Authorization": "Bearer own"])
        let out = ProxyHeaders.upstreamRequest(
            head, forward: forward(authorization: nil), clientAddress: nil, via: "v")
        #expect(out.fields.values("Authorization") == ["Bearer own"])
    }

    /// A token longer than a small string (every real one) is written from its storage, a
    /// short one (`Bearer injected`, 15 bytes, above) from a copy: the same bytes either way,
    /// last, and the client's own `Authorization` dropped.
    @Test func writesALongInjectedAuthorizationByteForByte() {
        let token = "Bearer " + String(repeating: "abc.", count: 300) + "ü"
        for authorization in [token, "Bearer " + "x", String(token.prefix(16))] {
            let head = HTTPRequestHead(
                method: "GET", target: "/",
                fields: ["Host": "h", "Authorization": "Basic client", "X-A": "1"])
            let bytes = ProxyHeaders.upstreamRequestBytes(
                head, forward: forward(authorization: authorization), clientAddress: nil,
                via: "v")
            #expect(
                String(decoding: bytes, as: UTF8.self)
                    == "GET /v1/users HTTP/1.1\r\nHost: api.example.com\r\nX-A: 1\r\nVia: v\r\n"
                    + "Authorization: \(authorization)\r\n\r\n")
        }
    }

    /// The removed names: the route's (`X-Tokenproxy-Refresh`), and a request's own list once
    /// it was changed (a guard's identity headers), in any case; none with an empty list.
    @Test func removesTheRoutesAndTheRequestsOwnHeaders() {
        let head = HTTPRequestHead(
            method: "GET", target: "/",
            fields: [
                "Host": "h", "x-tokenproxy-refresh": "1", "X-User": "spoofed", "X-Keep": "1",
            ])
        let routeOnly = ProxyHeaders.upstreamRequest(
            head, forward: forward(), clientAddress: nil, via: "v")
        #expect(
            routeOnly.fields.map(\.name) == ["Host", "X-User", "X-Keep", "Via", "Authorization"])
        let guarded = forward()
        guarded.removeHeaders += ["x-user"]
        let both = ProxyHeaders.upstreamRequest(
            head, forward: guarded, clientAddress: nil, via: "v")
        #expect(both.fields.map(\.name) == ["Host", "X-Keep", "Via", "Authorization"])
        let none = ProxyForward(
            upstream: ProxyUpstream(scheme: "http", host: "u", port: 80), tls: nil, target: "/",
            hostHeader: "u", authorization: nil, routeName: "r")
        let kept = ProxyHeaders.upstreamRequest(head, forward: none, clientAddress: nil, via: "v")
        #expect(
            kept.fields.map(\.name) == ["Host", "x-tokenproxy-refresh", "X-User", "X-Keep", "Via"])
    }

    /// A response's `Content-Length` read in the fields' storage: its first value, none when
    /// `Transfer-Encoding` overrides it or there is none, and a length of zero is one.
    @Test func readsAResponsesContentLengthInPlace() {
        func length(_ fields: HTTPFields) -> Int? {
            ProxyHeaders.contentLength(of: HTTPResponseHead(status: 200, fields: fields))
        }
        #expect(length(["Content-Length": "128"]) == 128)
        #expect(length(["X-A": "1", "content-length": "0"]) == 0)
        #expect(length(["Content-Length": "12, 12"]) == 12)
        #expect(length(["Content-Length": "5", "Transfer-Encoding": "chunked"]) == nil)
        #expect(length(["X-Content-Length": "5"]) == nil)
        #expect(length([:]) == nil)
        var parser = HTTPParser(mode: .response)
        parser.feed(Array("HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 7\r\n\r\n".utf8))
        guard case .responseHead(let parsed)? = try? parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(ProxyHeaders.contentLength(of: parsed) == 7)
    }

    @Test func appendsViaAndForwardedFor() {
        let head = HTTPRequestHead(
            method: "GET", target: "/",
            fields: [
                "Host": "h", "Via": "1.0 other", "X-Forwarded-For": "10.0.0.1",
                "X-Forwarded-Proto": "https",
            ])
        let out = ProxyHeaders.upstreamRequest(
            head, forward: forward(forwarded: true), clientAddress: "127.0.0.1",
            via: "1.1 tokenproxy")
        #expect(out.fields.values("Via") == ["1.0 other, 1.1 tokenproxy"])
        #expect(out.fields.values("X-Forwarded-For") == ["10.0.0.1, 127.0.0.1"])
        #expect(out.fields.values("X-Forwarded-Proto") == ["http"])
        #expect(out.fields.map(\.name).last == "Authorization")
    }

    @Test func keepsUpgradeForWebSocketHandshakes() {
        let head = HTTPRequestHead(
            method: "GET", target: "/ws",
            fields: [
                "Host": "h", "Connection": "Upgrade", "Upgrade": "websocket",
                "Sec-WebSocket-Key": "k",
            ])
        let out = ProxyHeaders.upstreamRequest(
            head, forward: forward(), clientAddress: nil, via: "v")
        #expect(out.fields["Connection"] == "Upgrade")
        #expect(out.fields["Upgrade"] == "websocket")
        #expect(out.fields["Sec-WebSocket-Key"] == "k")
    }

    @Test func responseLosesHopByHopFieldsAndGetsTheClientsFraming() {
        let response = HTTPResponseHead(
            status: 200,
            fields: [
                "Transfer-Encoding": "chunked", "Connection": "X-Secret", "X-Secret": "s",
                "Keep-Alive": "timeout=5", "Content-Type": "text/plain", "Via": "1.1 origin",
            ])
        let bytes = ProxyHeaders.clientResponse(
            response, framing: .chunked, connection: .close, via: "1.1 tokenproxy")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(
            text
                == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                + "Via: 1.1 origin, 1.1 tokenproxy\r\nConnection: close\r\n\r\n")
    }

    @Test func headAndNotModifiedKeepTheirContentLength() {
        let response = HTTPResponseHead(status: 304, fields: ["Content-Length": "10", "ETag": "e"])
        let text = String(
            decoding: ProxyHeaders.clientResponse(
                response, framing: .none, connection: .none, via: "v"),
            as: UTF8.self)
        #expect(text.contains("Content-Length: 10\r\n"))
        let noContent = HTTPResponseHead(status: 204, fields: ["Content-Length": "0"])
        let stripped = String(
            decoding: ProxyHeaders.clientResponse(
                noContent, framing: .none, connection: .none, via: "v"),
            as: UTF8.self)
        #expect(!stripped.contains("Content-Length"))
    }
}
