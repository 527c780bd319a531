import Foundation
import Testing
import TokenProxyCore

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct HTTPClientTests {
    static let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: x\r\n\r\n{}"

    @Test func sendsRequestInOriginFormWithDefaultHeaders() async throws {
        let stream = HTTPTestStream(responses: [Self.ok])
        let transport = HTTPTestTransport([stream])
        let request = HTTPClientRequest(
            method: "POST", url: URL(string: "https://idp.example.org/oauth/v2/token?a=1#frag")!,
            headers: ["Content-Type": "application/x-www-form-urlencoded", "content-length": "99"],
            body: Array("grant=x".utf8))
        let response = try await transport.client().execute(request)
        #expect(response.status == 200)
        #expect(response.headers["date"] == "x")
        #expect(response.body == Array("{}".utf8))
        #expect(transport.connects == ["idp.example.org 443"])
        #expect(transport.tlsServerNames == ["idp.example.org"])
        #expect(
            stream.written
                == "POST /oauth/v2/token?a=1 HTTP/1.1\r\nHost: idp.example.org\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nUser-Agent: tokenproxy\r\n"
                + "Content-Length: 7\r\n\r\ngrant=x")
    }

    @Test func includesNonDefaultPortAndBracketsIPv6InHost() async throws {
        let stream = HTTPTestStream(responses: [Self.ok])
        let transport = HTTPTestTransport([stream])
        _ = try await transport.client().execute(
            HTTPClientRequest(url: URL(string: "http://[::1]:8080")!))
        #expect(transport.connects == ["::1 8080"])
        #expect(transport.tlsServerNames.isEmpty)
        #expect(
            stream.written == "GET / HTTP/1.1\r\nHost: [::1]:8080\r\nUser-Agent: tokenproxy\r\n\r\n"
        )
    }

    @Test func reusesKeptAliveConnection() async throws {
        let stream = HTTPTestStream(responses: [Self.ok, Self.ok])
        let transport = HTTPTestTransport([stream])
        let client = transport.client()
        let url = URL(string: "https://idp.example.org/t")!
        _ = try await client.execute(HTTPClientRequest(url: url))
        _ = try await client.execute(HTTPClientRequest(url: url))
        #expect(transport.connects.count == 1)
        #expect(stream.writeCount == 2)
    }

    @Test func doesNotReuseAcrossHostsOrAfterClose() async throws {
        let closing = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        let transport = HTTPTestTransport([
            HTTPTestStream(responses: [closing]), HTTPTestStream(responses: [Self.ok]),
            HTTPTestStream(responses: [Self.ok]),
        ])
        let client = transport.client()
        _ = try await client.execute(HTTPClientRequest(url: URL(string: "https://a.example/")!))
        _ = try await client.execute(HTTPClientRequest(url: URL(string: "https://a.example/")!))
        _ = try await client.execute(HTTPClientRequest(url: URL(string: "https://b.example/")!))
        #expect(transport.connects == ["a.example 443", "a.example 443", "b.example 443"])
    }

    @Test func skipsStalePooledConnectionBeforeWritingPost() async throws {
        let first = HTTPTestStream(responses: [Self.ok])
        let second = HTTPTestStream(responses: [Self.ok])
        let transport = HTTPTestTransport([first, second])
        let client = transport.client()
        let url = URL(string: "https://idp.example.org/token")!
        _ = try await client.execute(HTTPClientRequest(method: "POST", url: url, body: [1]))
        first.closeFromPeer()  // the server closed the idle connection
        let response = try await client.execute(
            HTTPClientRequest(method: "POST", url: url, body: [2]))
        #expect(response.status == 200)
        #expect(first.writeCount == 1)
        #expect(first.isClosed)
        #expect(transport.connects.count == 2)
    }

    @Test func retriesIdempotentRequestOnceWhenReusedConnectionCloses() async throws {
        // The pooled connection looks alive but the server closes it as our request arrives.
        let first = HTTPTestStream(responses: [
            Self.ok, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ])
        let second = HTTPTestStream(responses: [Self.ok])
        let transport = HTTPTestTransport([first, second])
        let client = transport.client()
        let url = URL(string: "https://idp.example.org/keys")!
        _ = try await client.execute(HTTPClientRequest(url: url))
        first.dropNextResponseAndClose()
        let response = try await client.execute(HTTPClientRequest(url: url))
        #expect(response.body == Array("{}".utf8))
        #expect(transport.connects.count == 2)
    }

    @Test func doesNotResendPostThatWasWritten() async throws {
        let first = HTTPTestStream(responses: [Self.ok, Self.ok])
        let transport = HTTPTestTransport([first, HTTPTestStream(responses: [Self.ok])])
        let client = transport.client()
        let url = URL(string: "https://idp.example.org/token")!
        _ = try await client.execute(HTTPClientRequest(method: "POST", url: url))
        first.dropNextResponseAndClose()
        await #expect {
            try await client.execute(HTTPClientRequest(method: "POST", url: url))
        } throws: { error in
            guard case HTTPClientError.transport(.connectionClosed) = error else { return false }
            return true
        }
        #expect(transport.connects.count == 1)
    }

    @Test func resendsPostWhenWritingToReusedConnectionFailed() async throws {
        let first = HTTPTestStream(responses: [Self.ok])
        let transport = HTTPTestTransport([first, HTTPTestStream(responses: [Self.ok])])
        let client = transport.client()
        let url = URL(string: "https://idp.example.org/token")!
        _ = try await client.execute(HTTPClientRequest(method: "POST", url: url))
        first.failWrites(with: .syscall(name: "write", errno: EPIPE))
        let response = try await client.execute(HTTPClientRequest(method: "POST", url: url))
        #expect(response.status == 200)
        #expect(transport.connects.count == 2)
    }

    @Test func doesNotRetryOnFreshConnection() async throws {
        let transport = HTTPTestTransport([
            HTTPTestStream(peerClosed: true), HTTPTestStream(responses: [Self.ok]),
        ])
        await #expect(throws: HTTPClientError.self) {
            try await transport.client().execute(HTTPClientRequest(url: URL(string: "http://h/")!))
        }
        #expect(transport.connects.count == 1)
    }

    @Test(
        arguments: [
            ["X-Injected": "a\r\nEvil: 1"], ["Bad Name": "v"], ["X": "nul\u{0}"], ["": "v"],
        ] as [HTTPFields])
    func rejectsInvalidHeadersBeforeConnecting(headers: HTTPFields) async {
        let transport = HTTPTestTransport([HTTPTestStream(responses: [Self.ok])])
        await #expect {
            try await transport.client().execute(
                HTTPClientRequest(url: URL(string: "https://h/")!, headers: headers))
        } throws: { error in
            guard case HTTPClientError.invalidHeader = error else { return false }
            return !"\(error)".contains("\r") && !"\(error)".contains("Evil")
        }
        #expect(transport.connects.isEmpty)
    }

    @Test(arguments: ["ftp://h/", "https://user:secret@h/", "https://h:0/", "GET"])
    func rejectsUnusableURLs(url: String) async {
        let transport = HTTPTestTransport([])
        await #expect {
            let request =
                url == "GET"
                ? HTTPClientRequest(method: "G E T", url: URL(string: "https://h/")!)
                : HTTPClientRequest(url: URL(string: url)!)
            return try await transport.client().execute(request)
        } throws: { error in
            !"\(error)".contains("secret")
        }
        #expect(transport.connects.isEmpty)
    }

    @Test func sendsAbsoluteFormToHTTPProxyWithCredentials() async throws {
        let stream = HTTPTestStream(responses: [Self.ok])
        let transport = HTTPTestTransport([stream])
        var configuration = HTTPClientConfiguration()
        configuration.proxy = ProxySettings(httpProxy: URL(string: "http://u:p@proxy.local:3128"))
        _ = try await transport.client(configuration).execute(
            HTTPClientRequest(url: URL(string: "http://idp.example:8080/a?b=c")!))
        #expect(transport.connects == ["proxy.local 3128"])
        #expect(
            stream.written
                == "GET http://idp.example:8080/a?b=c HTTP/1.1\r\nHost: idp.example:8080\r\n"
                + "User-Agent: tokenproxy\r\nProxy-Authorization: Basic dTpw\r\n\r\n")
    }

    @Test func tunnelsHTTPSThroughProxyWithConnect() async throws {
        let stream = HTTPTestStream(responses: [
            "HTTP/1.1 200 Connection established\r\n\r\n", Self.ok,
        ])
        let transport = HTTPTestTransport([stream])
        var configuration = HTTPClientConfiguration()
        configuration.proxy = ProxySettings(httpsProxy: URL(string: "http://proxy.local"))
        _ = try await transport.client(configuration).execute(
            HTTPClientRequest(url: URL(string: "https://idp.example/t")!))
        #expect(transport.connects == ["proxy.local 1080"])
        #expect(transport.tlsServerNames == ["idp.example"])
        #expect(
            stream.written
                == "CONNECT idp.example:443 HTTP/1.1\r\nHost: idp.example:443\r\nUser-Agent: tokenproxy\r\n\r\n"
                + "GET /t HTTP/1.1\r\nHost: idp.example\r\nUser-Agent: tokenproxy\r\n\r\n")
    }

    @Test func reportsProxyRefusalWithProxyAndStatus() async {
        let stream = HTTPTestStream(responses: [
            "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
        ])
        let transport = HTTPTestTransport([stream])
        var configuration = HTTPClientConfiguration()
        configuration.proxy = ProxySettings(httpsProxy: URL(string: "http://proxy.local:3128"))
        await #expect {
            try await transport.client(configuration).execute(
                HTTPClientRequest(url: URL(string: "https://idp.example/")!))
        } throws: { error in
            guard case HTTPClientError.proxyRefused(let proxy, let status) = error else {
                return false
            }
            return proxy == "proxy.local:3128" && status == 407
                && "\(error)".contains("proxy.local:3128")
        }
        #expect(stream.isClosed)
    }

    @Test func connectsDirectlyToNoProxyHosts() async throws {
        let transport = HTTPTestTransport([HTTPTestStream(responses: [Self.ok])])
        var configuration = HTTPClientConfiguration()
        configuration.proxy = ProxySettings(
            httpsProxy: URL(string: "http://proxy.local:3128"), noProxy: [".example"])
        _ = try await transport.client(configuration).execute(
            HTTPClientRequest(url: URL(string: "https://idp.example/")!))
        #expect(transport.connects == ["idp.example 443"])
    }

    @Test func refusesResponsesOverTheLimit() async {
        let transport = HTTPTestTransport([
            HTTPTestStream(responses: ["HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"])
        ])
        var configuration = HTTPClientConfiguration()
        configuration.maxResponseBodyBytes = 4096
        await #expect {
            try await transport.client(configuration).execute(
                HTTPClientRequest(url: URL(string: "https://idp.example/")!))
        } throws: { error in
            guard case HTTPClientError.responseTooLarge(let peer, 4096) = error else {
                return false
            }
            return peer == "idp.example:443"
        }
    }

    @Test func failsAfterShutdown() async throws {
        let stream = HTTPTestStream(responses: [Self.ok])
        let transport = HTTPTestTransport([stream])
        let client = transport.client()
        _ = try await client.execute(HTTPClientRequest(url: URL(string: "https://idp.example/")!))
        client.shutdown()
        #expect(stream.isClosed)
        await #expect(throws: HTTPClientError.self) {
            try await client.execute(HTTPClientRequest(url: URL(string: "https://idp.example/")!))
        }
    }

    @Test func closesExpiredIdleConnections() async throws {
        let first = HTTPTestStream(responses: [Self.ok])
        let transport = HTTPTestTransport([first, HTTPTestStream(responses: [Self.ok])])
        var configuration = HTTPClientConfiguration()
        configuration.idleConnectionTimeout = .zero
        let client = transport.client(configuration)
        _ = try await client.execute(HTTPClientRequest(url: URL(string: "https://idp.example/")!))
        _ = try await client.execute(HTTPClientRequest(url: URL(string: "https://idp.example/")!))
        #expect(first.isClosed)
        #expect(transport.connects.count == 2)
    }
}
