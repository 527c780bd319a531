import Foundation
import Glibc
import Synchronization
import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// Where connections opened at once to a server on two event loops land: TCP on both, through a
/// listening socket per loop (SO_REUSEPORT); the Unix socket (every loop watches it) on the
/// first loop while it is not busy, then on the next (`EventLoopGroup.placement`).
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

    @Test func unixConnectionsOpenedAtOnceFillTheFirstLoopWhileItIsNotBusy() async throws {
        try await Self.withUnixLoops { loops, path in
            // One socket, watched by both loops; both idle: whichever loop the kernel wakes,
            // every connection goes to the first loop that is not busy; the second sleeps on.
            let clients = try Self.connect(unixPath: path, count: 16)
            let counts = try await loops.countsOnceAdmitted(16)
            #expect(counts.reduce(0, +) == 16)
            // Spread evenly (the rule before) would be 8 / 8. A loop descheduled for two load
            // windows in the middle of the burst counts as busy, so allow a stray one or two.
            #expect(counts[0] >= 14, "per-loop connections: \(counts)")
            try Self.expectServed(clients)
        }
    }

    @Test func unixConnectionsGoToTheNextLoopWhileTheFirstIsBusy() async throws {
        try await Self.withUnixLoops { loops, path in
            let first = loops.group.loops[0]
            // The first loop runs one long job (it spins until released): awake and not
            // measuring for more than two load windows, it counts as busy; once released, its
            // next measure (a window of spinning) says busy too. Either way, connections
            // opened meanwhile go to the second loop, whichever loop accepts them.
            let spinning = Atomic<Bool>(false)
            let release = Atomic<Bool>(false)
            first.execute {
                spinning.store(true, ordering: .releasing)
                while !release.load(ordering: .acquiring) {}
            }
            defer { release.store(true, ordering: .releasing) }
            while !spinning.load(ordering: .acquiring) {
                try await Task.sleep(for: .milliseconds(1))
            }
            let windows = Limits.EventLoop.loadWindowNanoseconds
            try await Task.sleep(for: .nanoseconds(Int64(3 * windows)))
            #expect(first.load.isBusy(now: EventLoop.now()))
            let clients = try Self.connect(unixPath: path, count: 8)
            release.store(true, ordering: .releasing)
            let counts = try await loops.countsOnceAdmitted(8)
            #expect(counts == [0, 8], "per-loop connections: \(counts)")
            try Self.expectServed(clients)
        }
    }

    /// Runs `body` with a server on two loops listening on a Unix socket at the path it gets,
    /// in a directory of its own; stops the server after.
    static func withUnixLoops(_ body: (TwoLoops, String) async throws -> Void) async throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/loops.sock"
        let loops = TwoLoops([try Listener.unix(path: path, mode: 0o600, name: "unix")])
        do {
            try await body(loops, path)
        } catch {
            await loops.stop()
            throw error
        }
        await loops.stop()
    }

    /// `count` connections to the Unix socket at `path`, opened one after the other at once.
    static func connect(unixPath path: String, count: Int) throws -> [SocketStream] {
        try (0..<count).map { _ in
            try SocketStream.connect(unixPath: path, deadline: .now + .seconds(5))
        }
    }

    /// Each client is served (keep-alive, two requests) on whichever loop holds it, then closed.
    static func expectServed(_ clients: [SocketStream]) throws {
        for client in clients {
            for _ in 0..<2 {
                try client.write(
                    Array("GET /x HTTP/1.1\r\nHost: a\r\n\r\n".utf8), deadline: .now + .seconds(5))
                let answer = try client.read(maxLength: 4096, deadline: .now + .seconds(5))
                #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            }
            client.close()
        }
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
