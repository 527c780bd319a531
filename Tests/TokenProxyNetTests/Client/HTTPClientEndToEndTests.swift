import Foundation
import Testing

@testable import TokenProxyNet

/// The client against a real server over real sockets.
@Suite(.timeLimit(.minutes(1)))
struct HTTPClientEndToEndTests {
    struct Echo: Decodable {
        var method: String
        var path: String
        var host: String
        var port: Int
        var body: String
    }

    @Test func getsAndPostsAndReusesTheConnection() async throws {
        let server = try HTTPTestServer()
        defer { server.stop() }
        let client = try HTTPClient(configuration: HTTPClientConfiguration())
        defer { client.shutdown() }

        let first = try await client.execute(HTTPClientRequest(url: server.url("/a?b=1")))
        #expect(first.status == 200)
        let echo = try JSONDecoder().decode(Echo.self, from: Data(first.body))
        #expect(echo.method == "GET")
        #expect(echo.path == "/a?b=1")
        #expect(echo.host == "127.0.0.1:\(server.port)")

        let second = try await client.execute(
            HTTPClientRequest(
                method: "POST", url: server.url("/token"), body: Array("grant=x".utf8)))
        let posted = try JSONDecoder().decode(Echo.self, from: Data(second.body))
        #expect(posted.body == "grant=x")
        #expect(posted.port == echo.port, "the keep-alive connection was reused")
    }

    @Test func readsChunkedResponse() async throws {
        let server = try HTTPTestServer()
        defer { server.stop() }
        let client = try HTTPClient(configuration: HTTPClientConfiguration())
        defer { client.shutdown() }
        let response = try await client.execute(HTTPClientRequest(url: server.url("/chunked")))
        let echo = try JSONDecoder().decode(Echo.self, from: Data(response.body))
        #expect(echo.path == "/chunked")
    }

    @Test func postsOnFreshConnectionAfterServerClosedIdleOne() async throws {
        let server = try HTTPTestServer(idleTimeout: 0.2)
        defer { server.stop() }
        let client = try HTTPClient(configuration: HTTPClientConfiguration())
        defer { client.shutdown() }
        let first = try await client.execute(
            HTTPClientRequest(method: "POST", url: server.url("/token")))
        try await Task.sleep(for: .seconds(1))  // the server drops the idle connection meanwhile
        let second = try await client.execute(
            HTTPClientRequest(method: "POST", url: server.url("/token")))
        let before = try JSONDecoder().decode(Echo.self, from: Data(first.body))
        let after = try JSONDecoder().decode(Echo.self, from: Data(second.body))
        #expect(before.port != after.port)
    }

    @Test func reportsRefusedConnectionWithHostAndPort() async throws {
        let server = try HTTPTestServer()
        let port = server.port
        server.stop()
        let client = try HTTPClient(configuration: HTTPClientConfiguration())
        await #expect {
            try await client.execute(
                HTTPClientRequest(url: URL(string: "http://127.0.0.1:\(port)/")!))
        } throws: { error in
            "\(error)".contains("127.0.0.1") && "\(error)".contains("\(port)")
        }
    }
}
