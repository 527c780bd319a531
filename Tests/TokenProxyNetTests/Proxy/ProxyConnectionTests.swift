import Foundation
import Glibc
import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// The client side of a proxy connection: strict parsing, bodies, framing, local answers.
@Suite(.timeLimit(.minutes(1)))
struct ProxyConnectionTests {
    static let ambiguousRequests: [String] = [
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\rX-B: 2\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{0}b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n",
    ]

    @Test(arguments: ambiguousRequests)
    func rejectsAmbiguousRequestsWithoutForwardingAnything(_ request: String) async throws {
        let upstream = try UpstreamTestServer()
        let delegate = FakeProxyDelegate.forwarding(to: upstream)
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.send(request)
        let response = try #require(client.readResponse())
        #expect(response.status == 400)
        #expect(response["Connection"] == "close")
        #expect(client.isClosedByServer())
        #expect(delegate.decideCount == 0)
        #expect(upstream.connectionCount == 0 && upstream.totalBytes == 0)
        await proxy.stop()
    }

    @Test func rejectsUnknownTransferCodingsWith501() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n")
        #expect(client.readResponse()?.status == 501)
        #expect(upstream.totalBytes == 0)
        await proxy.stop()
    }

    @Test func badChunkInAForwardedBodyClosesBothSides() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.send(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
        #expect(client.readResponse()?.status == 400)
        #expect(client.isClosedByServer())
        #expect(upstream.totalBytes == 0)
        await proxy.stop()
    }

    @Test func reChunksAChunkedRequestBody() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        let big = String(repeating: "z", count: 100_000)
        client.send(
            "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n")
        #expect(client.readResponse()?.status == 200)
        client.send(
            "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "\(String(big.utf8.count, radix: 16))\r\n\(big)\r\n0\r\n\r\n")
        #expect(client.readResponse()?.status == 200)
        let requests = upstream.waitForRequests(2)
        #expect(requests.first?.text == "hello world!")
        #expect(requests.first?.head.fields.values("Transfer-Encoding") == ["chunked"])
        #expect(requests.last?.bodyCount == 100_000)
        #expect(requests.last?.head.fields.values("Transfer-Encoding") == ["chunked"])
        #expect(!upstream.rawText.contains("ext=1") && !upstream.rawText.contains("X-Trailer"))
        await proxy.stop()
    }

    @Test func streamsLargeBodiesBothWaysWithBoundedBuffers() async throws {
        let size = 50 * 1024 * 1024
        let upstream = try UpstreamTestServer { _ in .large(count: size) }
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        let chunk = String(repeating: "u", count: 1 << 20)
        client.send("PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: \(size)\r\n\r\n")
        for _ in 0..<50 { client.send(chunk) }
        let headEnd = Array("\r\n\r\n".utf8)
        var received = client.readRaw(atLeast: 1)
        while received.firstRange(of: headEnd) == nil {
            received += client.readRaw(atLeast: 1)
        }
        let head = String(
            decoding: received[..<received.firstRange(of: headEnd)!.upperBound], as: UTF8.self)
        #expect(head.contains("Content-Length: \(size)\r\n"))
        let bodySoFar = received.count - received.firstRange(of: headEnd)!.upperBound
        let rest = client.readRaw(atLeast: size - bodySoFar)
        #expect(bodySoFar + rest.count == size)
        #expect(upstream.waitForRequests(1).first?.bodyCount == size)
        #expect(proxy.engine.peakBufferedBodyBytes <= 256 * 1024)
        await proxy.stop()
    }

    @Test func headNoContentAndNotModifiedHaveNoBody() async throws {
        let upstream = try UpstreamTestServer { request in
            switch request.head.target {
            case "/head": .send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
            case "/204": .send("HTTP/1.1 204 No Content\r\n\r\n")
            case "/304": .send("HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\n")
            default: .send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter")
            }
        }
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.request("HEAD", "/head")
        let head = try #require(client.readResponse(method: "HEAD"))
        #expect(head.status == 200 && head["Content-Length"] == "10" && head.body.isEmpty)
        client.request("GET", "/204")
        #expect(client.readResponse()?.status == 204)
        client.request("GET", "/304")
        let notModified = try #require(client.readResponse())
        #expect(notModified.status == 304 && notModified["ETag"] == "\"e\"")
        client.request("GET", "/after")
        #expect(client.readResponse()?.text == "after")
        #expect(upstream.connectionCount == 1)
        await proxy.stop()
    }

    @Test func untilCloseResponseIsChunkedForHTTP11Clients() async throws {
        let upstream = try UpstreamTestServer { _ in
            .sendAndClose("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        }
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.request("GET", "/one")
        let response = try #require(client.readResponse())
        #expect(response["Transfer-Encoding"] == "chunked")
        #expect(response.text == "until the end")
        client.request("GET", "/two")
        #expect(client.readResponse()?.text == "until the end")

        let old = try proxy.client()
        old.send("GET /three HTTP/1.0\r\n\r\n")
        let text = old.readToEnd()
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(!text.contains("Transfer-Encoding") && text.hasSuffix("\r\n\r\nuntil the end"))
        await proxy.stop()
    }

    @Test func answersExpectContinueItself() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.send(
            "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        let interim = try #require(client.readResponse())
        #expect(interim.status == 100)
        client.send("hello")
        #expect(client.readResponse(method: nil)?.status == 200)
        let request = try #require(upstream.waitForRequests(1).first)
        #expect(request.text == "hello" && !request.head.fields.contains("Expect"))
        await proxy.stop()
    }

    @Test func respondDecisionsAreAnsweredLocally() async throws {
        let delegate = FakeProxyDelegate { head in
            .respond(
                HTTPServerResponse(
                    status: 403, headers: ["Content-Type": "text/plain", "Content-Length": "999"],
                    body: Array("no route for \(head.target)".utf8)))
        }
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("GET", "/nowhere")
        let response = try #require(client.readResponse())
        #expect(response.status == 403 && response.text == "no route for /nowhere")
        client.request("POST", "/again", body: "ignored body")
        #expect(client.readResponse()?.text == "no route for /again")
        client.request("HEAD", "/head")
        let head = try #require(client.readResponse(method: "HEAD"))
        #expect(head.status == 403 && head.body.isEmpty)
        #expect(delegate.waitForEvents(3).map(\.status) == [403, 403, 403])
        await proxy.stop()
    }

    @Test func slowHeadIsAnswered408() async throws {
        let proxy = try ProxyTestHarness(
            delegate: FakeProxyDelegate { _ in .respond(HTTPServerResponse(status: 200)) },
            configuration: ProxyEngineConfiguration(headerReadTimeout: .milliseconds(200)))
        let client = try proxy.client()
        client.send("GET / HTTP/1.1\r\nHost: h\r\n")
        #expect(client.readResponse()?.status == 408)
        #expect(client.isClosedByServer())
        await proxy.stop()
    }
}
