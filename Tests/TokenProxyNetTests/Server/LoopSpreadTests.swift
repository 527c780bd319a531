import Foundation
import Glibc
import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// Connections opened at once to a server on two event loops land on both: TCP through a
/// listening socket per loop (SO_REUSEPORT), the Unix socket through the shell's hand-off to
/// the loop with fewer connections. Without either, the first loop woken took the whole burst.
@Suite(.timeLimit(.minutes(1)))
struct LoopSpreadTests {
    /// A server on `listeners` with two loops of its own group.
    final class TwoLoops: Sendable {
        let group = EventLoopGroup(configured: 2, name: "spread")
        let server: HTTPServer

        init(_ listeners: [Listener]) {
            server = HTTPServer(listeners: listeners, handler: EchoHandler(), loops: group)
            group.start()
            server.start()
        }

        func stop() async {
            await server.shutdown(gracePeriod: .seconds(1))
            group.stop()
        }

        /// Waits until the server holds `count` connections, then returns the per-loop counts.
        func countsOnceAdmitted(_ count: Int) async throws -> [Int] {
            let deadline = ContinuousClock.now + .seconds(10)
            while group.connectionCounts.reduce(0, +) < count, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            return group.connectionCounts
        }
    }

    @Test func tcpConnectionsOpenedAtOnceLandOnBothLoops() async throws {
        let loops = TwoLoops([try Listener.tcp(host: "127.0.0.1", port: 0, name: "tcp")])
        let port = try #require(loops.server.boundPort("tcp"))
        // Each loop accepts from its own socket; the kernel picks one per connection by its
        // 4-tuple (all 32 on one socket: 2 in 2^32).
        var clients: [SocketStream] = []
        for _ in 0..<32 {
            clients.append(
                try SocketStream.connect(
                    host: "127.0.0.1", port: port, deadline: .now + .seconds(5)))
        }
        let counts = try await loops.countsOnceAdmitted(32)
        #expect(counts.reduce(0, +) == 32)
        #expect(counts.allSatisfy { $0 > 0 }, "per-loop connections: \(counts)")
        for client in clients { client.close() }
        // Closed connections are counted off their loop again.
        let deadline = ContinuousClock.now + .seconds(10)
        while loops.group.connectionCounts.reduce(0, +) > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(loops.group.connectionCounts == [0, 0])
        await loops.stop()
    }

    @Test func unixConnectionsOpenedAtOnceLandOnBothLoopsEvenly() async throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/spread.sock"
        let loops = TwoLoops([try Listener.unix(path: path, mode: 0o600, name: "unix")])
        // One socket, watched by both loops: one wake-up accepts the burst, and each
        // connection goes to the loop with fewer, so the counts stay within one or two.
        var clients: [SocketStream] = []
        for _ in 0..<16 {
            clients.append(try SocketStream.connect(unixPath: path, deadline: .now + .seconds(5)))
        }
        let counts = try await loops.countsOnceAdmitted(16)
        #expect(counts.reduce(0, +) == 16)
        #expect(abs(counts[0] - counts[1]) <= 2, "per-loop connections: \(counts)")
        // A connection handed to the other loop is served there (keep-alive, two requests).
        for client in clients {
            for _ in 0..<2 {
                try client.write(
                    Array("GET /x HTTP/1.1\r\nHost: a\r\n\r\n".utf8), deadline: .now + .seconds(5))
                let answer = try client.read(maxLength: 4096, deadline: .now + .seconds(5))
                #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            }
            client.close()
        }
        await loops.stop()
    }

    @Test func aListenerAddedAndRemovedWhileServingNeverRefusesTheKeptOne() async throws {
        let kept = try Listener.tcp(host: "127.0.0.1", port: 0, name: "kept")
        let port = try #require(kept.port)
        let loops = TwoLoops([kept])
        let failures = Task.detached { () -> Int in
            var failed = 0
            for _ in 0..<200 {
                do {
                    let client = try SocketStream.connect(
                        host: "127.0.0.1", port: port, deadline: .now + .seconds(5))
                    try client.write(
                        Array("GET /k HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8),
                        deadline: .now + .seconds(5))
                    let answer = try client.read(maxLength: 4096, deadline: .now + .seconds(5))
                    if !String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200") {
                        failed += 1
                    }
                    client.close()
                } catch {
                    failed += 1
                }
            }
            return failed
        }
        // Reloads that add and remove another address; the kept listener and its per-loop
        // sockets (and their queues) stay as they are.
        for round in 0..<10 {
            let moving = try Listener.tcp(host: "127.0.0.1", port: 0, name: "moving-\(round)")
            let movingPort = try #require(moving.port)
            await loops.server.updateListeners(adding: [moving], removing: [])
            let client = try SocketStream.connect(
                host: "127.0.0.1", port: movingPort, deadline: .now + .seconds(5))
            try client.write(
                Array("GET /m HTTP/1.1\r\nHost: a\r\n\r\n".utf8), deadline: .now + .seconds(5))
            let answer = try client.read(maxLength: 4096, deadline: .now + .seconds(5))
            #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            client.close()
            await loops.server.updateListeners(adding: [], removing: [moving])
        }
        #expect(await failures.value == 0)
        #expect(loops.server.listeners.map(\.name) == ["kept"])
        await loops.stop()
    }
}
