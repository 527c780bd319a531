import Foundation
import Glibc
import Testing
import TokenProxyPosix

@testable import TokenProxyNet

/// Changing a running shell's listener set (what a reload moving a listen address does): the
/// new listener accepts, the removed one refuses, and a connection accepted before the removal
/// keeps working.
@Suite(.timeLimit(.minutes(1)))
struct ConnectionShellListenersTests {
    typealias Harness = ConnectionShellTests.Harness

    @Test func movesAcceptingToTheNewListenerAndKeepsConnectionsOfTheRemovedOne() async throws {
        let harness = try Harness(maxConnections: 10, busy: true)
        let early = try harness.connect()
        defer { early.close() }
        try await harness.waitFor(1)

        let old = try #require(harness.shell.listeners.first)
        let moved = try Listener.tcp(host: "127.0.0.1", port: 0, name: "moved")
        let movedPort = try #require(moved.port)
        await harness.shell.updateListeners(adding: [moved], removing: [old])

        #expect(harness.shell.listeners.map(\.name) == ["moved"])
        #expect(harness.shell.boundPort("moved") == movedPort)
        #expect(harness.shell.boundPort("tcp") == nil)
        #expect(throws: (any Error).self) {
            try SocketStream.connect(
                host: "127.0.0.1", port: harness.port, deadline: .now + .seconds(5))
        }
        let late = try SocketStream.connect(
            host: "127.0.0.1", port: movedPort, deadline: .now + .seconds(5))
        defer { late.close() }
        try await harness.waitFor(2)

        // The connection accepted from the removed listener was not asked to stop, and its
        // socket still carries an exchange both ways.
        let first = try #require(harness.made.withLock { $0.first })
        #expect(first.calls.withLock { $0 } == ["start"])
        try early.write(Array("ping".utf8), deadline: .now + .seconds(5))
        var buffer = [UInt8](repeating: 0, count: 16)
        let deadline = ContinuousClock.now + .seconds(5)
        var received = 0
        while received < 4, ContinuousClock.now < deadline {
            let count = recv(first.admission.fileDescriptor, &buffer[received], 16 - received, 0)
            if count > 0 { received += count } else { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(Array(buffer[..<received]) == Array("ping".utf8))
        #expect(send(first.admission.fileDescriptor, "pong", 4, Int32(MSG_NOSIGNAL)) == 4)
        #expect(try early.read(maxLength: 16, deadline: .now + .seconds(5)) == Array("pong".utf8))

        await harness.shell.shutdown(gracePeriod: .milliseconds(100))
        #expect(harness.shell.phase == .stopped)
    }

    @Test func removingAUnixListenerRemovesItsSocketFileAndIndicesAreNotReused() async throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let harness = try Harness(maxConnections: 10)
        let path = directory + "/added.sock"
        let unix = try Listener.unix(path: path, name: "local")
        await harness.shell.updateListeners(adding: [unix], removing: [])
        let client = try SocketStream.connect(unixPath: path, deadline: .now + .seconds(5))
        client.close()
        try await harness.waitFor(1)

        await harness.shell.updateListeners(adding: [], removing: [unix])
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(harness.shell.listeners.map(\.name) == ["tcp"])

        // A listener added after a removal gets a fresh index (a new epoll token), and the
        // untouched listener kept accepting throughout.
        let again = try Listener.unix(path: path, name: "again")
        await harness.shell.updateListeners(adding: [again], removing: [])
        let acceptors = try #require(harness.shell.loopAcceptors.withLock { $0 })
        #expect(acceptors.listeners.map(\.name) == ["tcp", "again"])
        #expect(acceptors.listenerIndices == [0, 2])
        let viaTCP = try harness.connect()
        viaTCP.close()
        let viaUnix = try SocketStream.connect(unixPath: path, deadline: .now + .seconds(5))
        viaUnix.close()
        await harness.shell.shutdown(gracePeriod: .milliseconds(100))
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
