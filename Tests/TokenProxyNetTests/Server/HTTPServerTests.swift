import Foundation
import Glibc
import Testing
import TokenProxyCore

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct HTTPServerTests {
    @Test func servesSeveralRequestsOnOneKeepAliveConnection() async throws {
        let server = try TestServer()
        let client = try server.connect()
        for index in 0..<5 {
            client.request("GET", "/v1/tokens/\(index)")
            let response = try #require(client.readResponse())
            #expect(response.status == 200)
            #expect(response.text == "GET /v1/tokens/\(index) 0\n")
            #expect(response["Content-Length"] == String(response.body.count))
            #expect(response["Date"]?.hasSuffix(" GMT") == true)
            #expect(response["Connection"] == nil)
            #expect(response["X-Listener"] == "unix")
        }
        #expect(server.server.connectionCount == 1)
        await server.stop()
    }

    @Test func answersPipelinedRequestsInOrder() async throws {
        for handler in [EchoHandler() as any HTTPServerHandler, DelayedHandler()] {
            let server = try TestServer(handler: handler)
            let client = try server.connect()
            var burst = ""
            for index in 0..<20 { burst += "GET /\(index) HTTP/1.1\r\nHost: x\r\n\r\n" }
            client.send(burst + "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            for index in 0..<20 {
                let response = try #require(client.readResponse())
                #expect(response.text.contains("/\(index)"))
            }
            let last = try #require(client.readResponse(method: "POST"))
            #expect(last.text.contains("/body"))
            await server.stop()
        }
    }

    @Test func answersFromAnotherThread() async throws {
        let server = try TestServer(handler: DelayedHandler())
        let client = try server.connect()
        client.request("GET", "/a")
        #expect(try #require(client.readResponse()).text == "late /a")
        client.request("GET", "/b")
        #expect(try #require(client.readResponse()).text == "late /b")
        await server.stop()
    }

    @Test func closesHTTP10UnlessKeepAliveWasAsked() async throws {
        let server = try TestServer()
        let plain = try server.connect()
        plain.send("GET /old HTTP/1.0\r\n\r\n")
        let first = try #require(plain.readResponse())
        #expect(first.status == 200)
        #expect(first["Connection"] == "close")
        #expect(plain.isClosedByServer())

        let keepAlive = try server.connect()
        for _ in 0..<2 {
            keepAlive.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = try #require(keepAlive.readResponse())
            #expect(response["Connection"] == "keep-alive")
        }
        await server.stop()
    }

    @Test func sendsNoBodyForHEAD() async throws {
        let server = try TestServer()
        let client = try server.connect()
        client.request("HEAD", "/x")
        let head = try #require(client.readResponse(method: "HEAD"))
        #expect(head.body.isEmpty)
        #expect(head["Content-Length"] == "10")  // "HEAD /x 0\n"
        client.request("GET", "/x")
        #expect(try #require(client.readResponse()).text == "GET /x 0\n")
        await server.stop()
    }

    @Test func sends100ContinueBeforeReadingTheBody() async throws {
        let server = try TestServer()
        let client = try server.connect()
        client.send(
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        let interim = try #require(client.readResponse(method: "POST"))
        #expect(interim.status == 100)
        client.send("hello")
        let final = try #require(client.readResponse(method: nil))
        #expect(final.status == 200)
        #expect(final.text == "POST /upload 5\nhello")
        await server.stop()
    }

    @Test func refusesAnExpectedBodyOverTheLimitWith417() async throws {
        let server = try TestServer(
            configuration: HTTPServerConfiguration(maxRequestBodyBytes: 10))
        let client = try server.connect()
        client.send(
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n"
        )
        let response = try #require(client.readResponse(method: "POST"))
        #expect(response.status == 417)
        #expect(response["Connection"] == "close")
        #expect(client.isClosedByServer())
        await server.stop()
    }

    @Test func reportsPeerCredentialsOfUnixClients() async throws {
        let server = try TestServer()
        let client = try server.connect()
        client.request("GET", "/whoami")
        let response = try #require(client.readResponse())
        #expect(response["X-Peer"] == "pid=\(getpid()) uid=\(getuid()) gid=\(getgid())")
        await server.stop()
    }

    @Test func servesTCPWithTheBoundPortAndPeerAddress() async throws {
        let server = try TestServer(tcp: true)
        let port = try #require(server.server.boundPort("tcp"))
        #expect(port > 0)
        #expect(server.server.boundPort("unix") == nil)
        let client = try TestClient(tcpPort: port)
        client.request("GET", "/tcp")
        let response = try #require(client.readResponse())
        #expect(response["X-Listener"] == "tcp")
        #expect(response["X-Peer"]?.hasPrefix("127.0.0.1:") == true)
        await server.stop()
    }

    @Test func closesAfterMaxRequestsPerConnection() async throws {
        let server = try TestServer(
            configuration: HTTPServerConfiguration(maxRequestsPerConnection: 2))
        let client = try server.connect()
        client.request("GET", "/1")
        #expect(try #require(client.readResponse())["Connection"] == nil)
        client.request("GET", "/2")
        #expect(try #require(client.readResponse())["Connection"] == "close")
        #expect(client.isClosedByServer())
        await server.stop()
    }

    @Test func closesWhenTheHandlerAsks() async throws {
        let server = try TestServer()
        let client = try server.connect()
        client.request("GET", "/close")
        #expect(try #require(client.readResponse())["Connection"] == "close")
        #expect(client.isClosedByServer())
        await server.stop()
    }

    @Test func worksWithCurl() async throws {
        let server = try TestServer()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = [
            "--silent", "--show-error", "--max-time", "10", "--unix-socket", server.socketPath,
            "--data", "x=1", "http://localhost/v1/tokens/x",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: data, as: UTF8.self) == "POST /v1/tokens/x 3\nx=1")
        await server.stop()
    }
}
