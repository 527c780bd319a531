import Foundation
import Glibc
import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// Malformed, oversized, slow and excess clients: each gets its answer and its connection
/// closed, and nobody else notices.
@Suite(.timeLimit(.minutes(1)))
struct HTTPServerRobustnessTests {
    struct Malformed: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: String
        let status: Int
        var testDescription: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(name: "bare LF", bytes: "GET / HTTP/1.1\nHost: x\n\n", status: 400),
        Malformed(
            name: "bad header name", bytes: "GET / HTTP/1.1\r\nHost: x\r\nBad@Name: 1\r\n\r\n",
            status: 400),
        Malformed(
            name: "CL and TE",
            bytes:
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            status: 400),
        Malformed(
            name: "conflicting CL",
            bytes:
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
            status: 400),
        Malformed(
            name: "obs-fold", bytes: "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
            status: 400),
        Malformed(name: "missing Host", bytes: "GET / HTTP/1.1\r\n\r\n", status: 400),
        Malformed(name: "HTTP/2.0", bytes: "GET / HTTP/2.0\r\nHost: x\r\n\r\n", status: 505),
        Malformed(
            name: "gzip coding",
            bytes: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", status: 501),
        Malformed(
            name: "oversized head",
            bytes:
                "GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 20_000))\r\n\r\n",
            status: 431),
        Malformed(
            name: "long target",
            bytes: "GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: x\r\n\r\n",
            status: 414),
        Malformed(
            name: "oversized body",
            bytes: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n", status: 413),
        Malformed(
            name: "oversized chunked body",
            bytes: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "11170\r\n\(String(repeating: "b", count: 70000))\r\n0\r\n\r\n",
            status: 413),
        Malformed(
            name: "unknown expectation",
            bytes: "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", status: 417),
    ]

    @Test(arguments: malformed)
    func answersMalformedRequestsAndCloses(_ example: Malformed) async throws {
        let server = try TestServer()
        let bystander = try server.connect()
        bystander.request("GET", "/before")
        #expect(try #require(bystander.readResponse()).status == 200)

        let client = try server.connect()
        client.send(example.bytes)
        let response = try #require(client.readResponse())
        #expect(response.status == example.status)
        #expect(response["Connection"] == "close")
        #expect(response["Content-Type"] == "text/plain; charset=utf-8")
        #expect(!response.body.isEmpty)
        #expect(client.isClosedByServer())

        bystander.request("GET", "/after")
        #expect(try #require(bystander.readResponse()).status == 200)
        await server.stop()
    }

    @Test func answers408ToAStalledHeadWhileServingOthers() async throws {
        let server = try TestServer(
            configuration: HTTPServerConfiguration(headerReadTimeout: .milliseconds(300)))
        let slow = try server.connect()
        slow.send("GET /slow HTTP/1.1\r\nHost: x\r\nX-Partial:")
        let other = try server.connect()
        other.request("GET", "/fast")
        #expect(try #require(other.readResponse()).status == 200)
        let response = try #require(slow.readResponse())
        #expect(response.status == 408)
        #expect(slow.isClosedByServer())
        await server.stop()
    }

    @Test func answers408ToAStalledBody() async throws {
        let server = try TestServer(
            configuration: HTTPServerConfiguration(bodyReadTimeout: .milliseconds(300)))
        let slow = try server.connect()
        slow.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        #expect(try #require(slow.readResponse(method: "POST")).status == 408)
        #expect(slow.isClosedByServer())
        await server.stop()
    }

    @Test func closesAnIdleKeepAliveConnectionSilently() async throws {
        let server = try TestServer(
            configuration: HTTPServerConfiguration(idleTimeout: .milliseconds(200)))
        let client = try server.connect()
        client.request("GET", "/once")
        #expect(try #require(client.readResponse()).status == 200)
        #expect(client.isClosedByServer())
        await server.stop()
    }

    @Test func closesConnectionsBeyondMaxConnections() async throws {
        let server = try TestServer(configuration: HTTPServerConfiguration(maxConnections: 2))
        let first = try server.connect()
        let second = try server.connect()
        for client in [first, second] {
            client.request("GET", "/x")
            #expect(try #require(client.readResponse()).status == 200)
        }
        let third = try server.connect()
        #expect(third.isClosedByServer())
        first.request("GET", "/still")
        #expect(try #require(first.readResponse()).status == 200)
        await server.stop()
    }

    @Test func shutdownWaitsForAnInFlightRequestAndClosesIdleConnections() async throws {
        let handler = DelayedHandler()
        let server = try TestServer(handler: handler)
        let idle = try server.connect()
        idle.request("GET", "/idle")
        #expect(try #require(idle.readResponse()).status == 200)
        let busy = try server.connect()
        busy.request("GET", "/wait")
        handler.started.wait()

        let shutdown = Task { await server.server.shutdown(gracePeriod: .seconds(30)) }
        #expect(await offPool { idle.isClosedByServer() })
        #expect(FileManager.default.fileExists(atPath: server.socketPath) == false)
        handler.gate.signal()
        let response = try #require(await offPool { busy.readResponse() })
        #expect(response.text == "late /wait")
        #expect(response["Connection"] == "close")
        await shutdown.value
        #expect(server.server.connectionCount == 0)
        await server.stop()
    }

    @Test func shutdownClosesAStuckRequestAfterTheGracePeriod() async throws {
        let handler = DelayedHandler()
        let server = try TestServer(handler: handler)
        let busy = try server.connect()
        busy.request("GET", "/wait")
        handler.started.wait()
        await server.server.shutdown(gracePeriod: .milliseconds(100))
        #expect(busy.isClosedByServer())
        handler.gate.signal()
        await server.stop()
    }
}
