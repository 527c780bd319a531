import Foundation
import Glibc
import Testing
import TokenProxyPosix

@testable import TokenProxyNet

/// The connection shell on its own: admission, the limit, drain and force-close, bound ports,
/// with a stand-in connection that records what the shell asks of it.
@Suite(.timeLimit(.minutes(1)))
struct ConnectionShellTests {
    /// Records the shell's calls; closes its socket (and reports it) when asked to shut down
    /// unless `busy`, and always when force-closed.
    final class RecordingConnection: ShellConnection {
        let admission: ShellAdmission
        let busy: Bool
        let calls = ThreadLock([String]())
        private let closed = ThreadLock(false)

        init(_ admission: ShellAdmission, busy: Bool) {
            self.admission = admission
            self.busy = busy
        }

        func start() { calls.withLock { $0.append("start") } }

        func requestShutdown() {
            calls.withLock { $0.append("requestShutdown") }
            if !busy { close() }
        }

        func forceClose() {
            calls.withLock { $0.append("forceClose") }
            close()
        }

        private func close() {
            let first = closed.withLock { closed in
                defer { closed = true }
                return !closed
            }
            guard first else { return }
            _ = Glibc.close(admission.fileDescriptor)
            admission.finished()
        }
    }

    /// A started shell on a TCP listener with port 0, accepting on a loop of its own, and the
    /// connections it made.
    final class Harness: Sendable {
        let shell: ConnectionShell<RecordingConnection>
        let made = ThreadLock([RecordingConnection]())
        let port: Int
        let loops = EventLoopGroup(configured: 1)

        init(maxConnections: Int, overloadResponse: [UInt8]? = nil, busy: Bool = false) throws {
            shell = ConnectionShell(
                listeners: [try Listener.tcp(host: "127.0.0.1", port: 0, name: "tcp")],
                maxConnections: maxConnections, overloadResponse: overloadResponse)
            port = try #require(shell.boundPort("tcp"))
            loops.start()
            shell.start(
                on: loops.loops, acceptorTokens: EventLoopToken.apiAcceptorBase, placement: .fill
            ) {
                [made] admission, _ in
                let connection = RecordingConnection(admission, busy: busy)
                made.withLock { $0.append(connection) }
                return connection
            } startOnLoop: { connection in
                connection.start()
            }
        }

        deinit { loops.stop() }

        func connect() throws -> SocketStream {
            try SocketStream.connect(host: "127.0.0.1", port: port, deadline: .now + .seconds(5))
        }

        /// Waits until the shell holds `count` connections, all started.
        func waitFor(_ count: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while shell.connectionCount != count
                || made.withLock({ $0.filter { $0.calls.withLock { $0.contains("start") } } })
                    .count < count
            {
                guard ContinuousClock.now < deadline else {
                    Issue.record("expected \(count) connections, have \(shell.connectionCount)")
                    return
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Everything the peer receives until the end of the stream.
    static func readToEnd(_ stream: SocketStream) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let piece = try stream.read(maxLength: 1024, deadline: .now + .seconds(5))
            if piece.isEmpty { return bytes }
            bytes += piece
        }
    }

    @Test func admitsUpToTheLimitAndRefusesTheNextWithTheOverloadResponse() async throws {
        let harness = try Harness(maxConnections: 2, overloadResponse: Array("busy\n".utf8))
        let clients = [try harness.connect(), try harness.connect()]
        try await harness.waitFor(2)
        let third = try harness.connect()
        #expect(try Self.readToEnd(third) == Array("busy\n".utf8))
        #expect(harness.shell.connectionCount == 2)
        #expect(harness.made.withLock { $0.count } == 2)
        await harness.shell.shutdown(gracePeriod: .seconds(5))
        for client in clients + [third] { client.close() }
    }

    @Test func refusesWithoutAWordWhenThereIsNoOverloadResponse() async throws {
        let harness = try Harness(maxConnections: 1)
        let first = try harness.connect()
        try await harness.waitFor(1)
        let second = try harness.connect()
        #expect(try Self.readToEnd(second).isEmpty)
        await harness.shell.shutdown(gracePeriod: .seconds(5))
        first.close()
        second.close()
    }

    @Test func drainsIdleConnectionsWithoutForcing() async throws {
        let harness = try Harness(maxConnections: 8)
        let clients = [try harness.connect(), try harness.connect()]
        try await harness.waitFor(2)
        let start = ContinuousClock.now
        await harness.shell.shutdown(gracePeriod: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(harness.shell.phase == .stopped)
        #expect(harness.shell.connectionCount == 0)
        for connection in harness.made.withLock({ $0 }) {
            #expect(connection.calls.withLock { $0 } == ["start", "requestShutdown"])
        }
        for client in clients { #expect(try Self.readToEnd(client).isEmpty) }
    }

    @Test func forceClosesBusyConnectionsAfterTheGracePeriod() async throws {
        let harness = try Harness(maxConnections: 8, busy: true)
        let client = try harness.connect()
        try await harness.waitFor(1)
        let start = ContinuousClock.now
        await harness.shell.shutdown(gracePeriod: .milliseconds(200))
        #expect(ContinuousClock.now - start >= .milliseconds(200))
        #expect(harness.shell.phase == .stopped)
        let connection = try #require(harness.made.withLock { $0.first })
        #expect(connection.calls.withLock { $0 } == ["start", "requestShutdown", "forceClose"])
        #expect(try Self.readToEnd(client).isEmpty)
    }

    @Test func stopsAcceptingWhenShutDown() async throws {
        let harness = try Harness(maxConnections: 8)
        await harness.shell.shutdown(gracePeriod: .seconds(1))
        #expect(throws: NetError.self) { try harness.connect() }
        // A socket that slipped through the accept queue is refused, not admitted.
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let listener = try Listener.tcp(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        let admitted = harness.shell.admit(
            FileDescriptor(adopting: fds[0]), peer: .unix(pid: 1, uid: 0, gid: 0), from: listener,
            on: harness.loops.loops[0]
        ) { RecordingConnection($0, busy: false) }
        #expect(admitted == nil)
        var byte: UInt8 = 0
        #expect(recv(fds[1], &byte, 1, 0) == 0)  // closed by the shell
        _ = Glibc.close(fds[1])
    }

    @Test func shutdownWithoutStartReturnsAtOnce() async throws {
        let shell = ConnectionShell<RecordingConnection>(
            listeners: [try Listener.tcp(host: "127.0.0.1", port: 0)], maxConnections: 1)
        await shell.shutdown(gracePeriod: .seconds(30))
        await shell.shutdown(gracePeriod: .seconds(30))
        #expect(shell.phase == .stopped)
    }

    @Test func reportsBoundPortsOfTCPListenersOnly() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let shell = ConnectionShell<RecordingConnection>(
            listeners: [
                try Listener.tcp(host: "127.0.0.1", port: 0, name: "api"),
                try Listener.unix(path: directory + "/s.sock", name: "local"),
            ],
            maxConnections: 1)
        defer { for listener in shell.listeners { listener.close() } }
        #expect((shell.boundPort("api") ?? 0) > 0)
        #expect(shell.boundPort("local") == nil)
        #expect(shell.boundPort("nope") == nil)
    }
}
