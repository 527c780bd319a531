import Dispatch
import Synchronization
import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// Answers at once and notes the order of the targets; `/block` holds the loop's thread (it is
/// called there) until `release` is signalled.
private final class OrderHandler: HTTPServerHandler {
    let order = Mutex<[String]>([])
    let blocked = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)

    func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        if request.head.target == "/block" {
            blocked.signal()
            release.wait()
        }
        order.withLock { $0.append(request.head.target) }
        respond(HTTPServerResponse(status: 200, body: Array(request.head.target.utf8)))
    }
}

/// One connection cannot hold a loop: each ready connection reads once and answers one request
/// per wake-up, and pipelined requests it already holds take turns with the other connections.
@Suite(.timeLimit(.minutes(1)))
struct HTTPServerFairnessTests {
    /// A server with one loop answering through `handler`: every connection shares it.
    private func oneLoopServer(_ handler: OrderHandler) throws -> TestServer {
        try TestServer(handler: handler, configuration: HTTPServerConfiguration(eventLoops: 1))
    }

    @Test func aPipeliningClientTakesTurnsWithTheOthers() async throws {
        let handler = OrderHandler()
        let server = try oneLoopServer(handler)
        let blocker = try server.connect()
        let pipelining = try server.connect()
        let other = try server.connect()
        // Every connection accepted and on the loop before it is held.
        for client in [blocker, pipelining, other] {
            client.request("GET", "/hello")
            #expect(try #require(client.readResponse()).status == 200)
        }
        blocker.request("GET", "/block")
        await offPool { handler.blocked.wait() }
        // While the loop is held, both become readable: the next wake-up reports both.
        let count = 20
        pipelining.send(
            (0..<count).map { "GET /p\($0) HTTP/1.1\r\nHost: localhost\r\n\r\n" }.joined())
        other.request("GET", "/other")
        handler.release.signal()

        #expect(try #require(await offPool { blocker.readResponse() }).text == "/block")
        for index in 0..<count {
            let response = try #require(await offPool { pipelining.readResponse() })
            #expect(response.text == "/p\(index)")
        }
        #expect(try #require(await offPool { other.readResponse() }).text == "/other")
        let order = handler.order.withLock { $0 }.filter { $0 != "/hello" && $0 != "/block" }
        // Before: all twenty pipelined requests, then the other connection's.
        #expect(Array(order.prefix(3)) == ["/p0", "/other", "/p1"])
        #expect(order.count == count + 1)
        await server.stop()
    }

    /// Connections are served in the order their requests arrived: one served in the last
    /// wake-up does not go ahead of one that has waited since. (Level-triggered, epoll put the
    /// reported descriptor back on its ready list at once, ahead of everything that became
    /// ready while the loop worked; edge-triggered, as nginx runs it, it does not.)
    @Test func servesConnectionsInTheOrderTheirRequestsArrived() async throws {
        let handler = OrderHandler()
        let server = try oneLoopServer(handler)
        let first = try server.connect()
        let second = try server.connect()
        for client in [first, second] {
            client.request("GET", "/hello")
            #expect(try #require(client.readResponse()).status == 200)
        }
        first.request("GET", "/block")
        await offPool { handler.blocked.wait() }
        // While the loop is busy with `first`: `second` sends, then `first` sends again. A
        // Unix socket's write has queued the bytes (and woken epoll) when it returns.
        second.request("GET", "/second")
        first.request("GET", "/first-again")
        handler.release.signal()

        #expect(try #require(await offPool { first.readResponse() }).text == "/block")
        #expect(try #require(await offPool { second.readResponse() }).text == "/second")
        #expect(try #require(await offPool { first.readResponse() }).text == "/first-again")
        let order = handler.order.withLock { $0 }.filter { $0 != "/hello" && $0 != "/block" }
        #expect(order == ["/second", "/first-again"])
        await server.stop()
    }

    /// Each connection is read once per wake-up, and epoll reports a readiness change only
    /// once (edge-triggered): a request several times the loop's read buffer, sent at once,
    /// is still read to its end, and the request behind it answered.
    @Test func readsARequestLargerThanTheReadBufferSentAtOnce() async throws {
        let server = try TestServer(configuration: HTTPServerConfiguration(eventLoops: 1))
        let client = try server.connect()
        let size = Limits.EventLoop.readBufferBytes * 3 + 100
        #expect(size < Limits.Server.maxRequestBodyBytes)
        let body = String(repeating: "b", count: size)
        client.send(
            "POST /big HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(size)\r\n\r\n\(body)"
                + "GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let big = try #require(await offPool { client.readResponse(method: "POST") })
        #expect(big.text == "POST /big \(size)\n" + body)
        let after = try #require(await offPool { client.readResponse() })
        #expect(after.text == "GET /after 0\n")
        await server.stop()
    }
}
