import Foundation
import Glibc
import Synchronization
import Testing

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct SocketStreamTests {
    private func soon() -> ContinuousClock.Instant { .now + .seconds(10) }

    private func expectEcho(over stream: SocketStream) throws {
        try stream.write(Array("ping".utf8), deadline: soon())
        var received: [UInt8] = []
        while received.count < 4 {
            let bytes = try stream.read(maxLength: 16, deadline: soon())
            #expect(!bytes.isEmpty)
            if bytes.isEmpty { break }
            received += bytes
        }
        #expect(received == Array("ping".utf8))
    }

    @Test func exchangesBytesOverIPv4() throws {
        let listener = try TestListener.tcp()
        listener.acceptOne(TestPeer.echo)
        let stream = try SocketStream.connect(
            host: "127.0.0.1", port: listener.port, deadline: soon())
        #expect(stream.peer == "127.0.0.1:\(listener.port)")
        #expect(stream.fileDescriptor >= 0)
        try expectEcho(over: stream)
        stream.close()
        listener.waitUntilFinished()
    }

    @Test(.enabled(if: TestListener.ipv6LoopbackAvailable))
    func exchangesBytesOverIPv6() throws {
        let listener = try TestListener.tcp(host: "::1")
        listener.acceptOne(TestPeer.echo)
        let stream = try SocketStream.connect(host: "::1", port: listener.port, deadline: soon())
        #expect(stream.peer == "[::1]:\(listener.port)")
        try expectEcho(over: stream)
        stream.close()
        listener.waitUntilFinished()
    }

    @Test func acceptsBracketedIPv6LiteralAndLocalhost() throws {
        let listener = try TestListener.tcp()
        listener.acceptOne(TestPeer.echo)
        // "localhost" may resolve to ::1 first, where nothing listens: the next address must be tried.
        let stream = try SocketStream.connect(
            host: "localhost", port: listener.port, deadline: soon())
        try expectEcho(over: stream)
        stream.close()
        listener.waitUntilFinished()
        #expect(SocketAddress.unbracketed("[::1]") == "::1")
    }

    @Test func exchangesBytesOverUnixSocket() throws {
        let listener = try TestListener.unix()
        listener.acceptOne(TestPeer.echo)
        let path = try #require(listener.path)
        let stream = try SocketStream.connect(unixPath: path, deadline: soon())
        #expect(stream.peer == path)
        try expectEcho(over: stream)
        stream.close()
        listener.waitUntilFinished()
    }

    @Test func refusedConnectionNamesHostAndPort() throws {
        // A bound socket that never listens keeps the port reserved and refuses connections.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { _ = Glibc.close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))

        let error = #expect(throws: NetError.self) {
            _ = try SocketStream.connect(host: "127.0.0.1", port: port, deadline: soon())
        }
        guard case .connect(let host, let reportedPort, let errno) = error else {
            Issue.record("expected NetError.connect, got \(String(describing: error))")
            return
        }
        #expect(host == "127.0.0.1" && reportedPort == port && errno == ECONNREFUSED)
        #expect(error?.description.contains("127.0.0.1:\(port)") == true)
    }

    @Test func missingUnixSocketNamesThePath() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/absent.sock"
        let error = #expect(throws: NetError.self) {
            _ = try SocketStream.connect(unixPath: path, deadline: soon())
        }
        guard case .connectUnixSocket(let reportedPath, let errno) = error else {
            Issue.record("expected NetError.connectUnixSocket, got \(String(describing: error))")
            return
        }
        #expect(reportedPath == path && errno == ENOENT)
    }

    @Test func readTimesOutWhenServerNeverWrites() throws {
        let listener = try TestListener.tcp()
        listener.acceptOne { _ = TestPeer.readToEnd($0) }
        let stream = try SocketStream.connect(
            host: "127.0.0.1", port: listener.port, deadline: soon())
        let error = #expect(throws: NetError.self) {
            _ = try stream.read(maxLength: 16, deadline: .now + .milliseconds(100))
        }
        guard case .timedOut(let operation) = error else {
            Issue.record("expected NetError.timedOut, got \(String(describing: error))")
            return
        }
        #expect(operation == "read from 127.0.0.1:\(listener.port)")
        stream.close()
        listener.waitUntilFinished()
    }

    @Test func readReturnsEmptyAtEndOfStream() throws {
        let listener = try TestListener.tcp()
        listener.acceptOne { TestPeer.write($0, Array("bye".utf8)) }
        let stream = try SocketStream.connect(
            host: "127.0.0.1", port: listener.port, deadline: soon())
        var received: [UInt8] = []
        for _ in 0..<10 {
            let bytes = try stream.read(maxLength: 16, deadline: soon())
            if bytes.isEmpty { break }
            received += bytes
        }
        #expect(received == Array("bye".utf8))
        #expect(try stream.read(maxLength: 16, deadline: soon()).isEmpty)
        stream.close()
        listener.waitUntilFinished()
    }

    @Test func writesLargePayloadsCompletely() throws {
        let listener = try TestListener.tcp()
        let count = Mutex<Int>(0)
        listener.acceptOne { fd in count.withLock { $0 = TestPeer.readToEnd(fd).count } }
        let stream = try SocketStream.connect(
            host: "127.0.0.1", port: listener.port, deadline: soon())
        try stream.write([UInt8](repeating: 0x61, count: 4 << 20), deadline: soon())
        stream.close()
        listener.waitUntilFinished()
        #expect(count.withLock { $0 } == 4 << 20)
    }

    @Test func idleConnectionReportsPeerClose() throws {
        let listener = try TestListener.tcp()
        let release = DispatchSemaphore(value: 0)
        listener.acceptOne { _ in _ = release.wait(timeout: .now() + 10) }
        let stream = try SocketStream.connect(
            host: "127.0.0.1", port: listener.port, deadline: soon())
        #expect(!stream.isReadableOrClosed())
        release.signal()
        listener.waitUntilFinished()
        // The FIN arrives asynchronously; wait for it through poll, not a sleep.
        var pollFD = pollfd(fd: stream.fileDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&pollFD, 1, 10_000)
        #expect(stream.isReadableOrClosed())
        stream.close()
        #expect(stream.isReadableOrClosed())
    }

    @Test func closeIsIdempotentAndLaterCallsThrowStreamClosed() throws {
        let listener = try TestListener.unix()
        listener.acceptOne { _ = TestPeer.readToEnd($0) }
        let stream = try SocketStream.connect(
            unixPath: try #require(listener.path), deadline: soon())
        stream.close()
        stream.close()
        #expect(stream.fileDescriptor == -1)
        #expect(throws: NetError.self) { try stream.write([1], deadline: soon()) }
        #expect(throws: NetError.self) { _ = try stream.read(maxLength: 1, deadline: soon()) }
        listener.waitUntilFinished()
    }

    @Test func closeFromAnotherThreadWakesABlockedRead() throws {
        let listener = try TestListener.tcp()
        listener.acceptOne { _ = TestPeer.readToEnd($0) }
        let stream = try SocketStream.connect(
            host: "127.0.0.1", port: listener.port, deadline: soon())
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<String>("pending")
        Thread.detachNewThread {
            do {
                let bytes = try stream.read(maxLength: 16, deadline: .now + .seconds(30))
                outcome.withLock { $0 = bytes.isEmpty ? "end of stream" : "data" }
            } catch NetError.streamClosed {
                outcome.withLock { $0 = "stream closed" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
            done.signal()
        }
        stream.close()
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(["end of stream", "stream closed"].contains(outcome.withLock { $0 }))
        listener.waitUntilFinished()
    }
}
