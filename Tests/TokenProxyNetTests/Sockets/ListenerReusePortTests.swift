import Glibc
import Testing
import TokenProxyPosix

@testable import TokenProxyNet

/// A TCP listener's sockets for the event loops (SO_REUSEPORT) and the bind check that keeps
/// a second listener, ours or another process's, off an address already listened on.
@Suite(.timeLimit(.minutes(1)))
struct ListenerReusePortTests {
    @Test(arguments: ["127.0.0.1", "::1"])
    func aTCPListenerGetsOneSocketPerLoopOnItsAddress(host: String) throws {
        let listener = try Listener.tcp(host: host, port: 0)
        let sockets = listener.loopSockets(count: 3)
        #expect(sockets.count == 3)
        #expect(Set(sockets).count == 3)
        #expect(sockets[0] == listener.fileDescriptor)
        #expect(sockets.allSatisfy { !Listener.isShared($0, in: sockets) })
        // Asking again makes no more sockets.
        #expect(listener.loopSockets(count: 3) == sockets)
        for socket in sockets {
            #expect(try Listener.boundAddress(of: socket).port == listener.port)
            #expect(
                try Posix.socketOption(socket, level: SOL_SOCKET, option: SO_ACCEPTCONN) == 1)
        }
        listener.close()
        // Closed with the listener: the address is free for an exclusive bind again.
        let again = try Listener.tcp(host: host, port: try #require(listener.port))
        again.close()
    }

    @Test func aUnixListenerIsSharedByEveryLoop() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let listener = try Listener.unix(path: directory + "/shared.sock")
        defer { listener.close() }
        let sockets = listener.loopSockets(count: 2)
        #expect(sockets == [listener.fileDescriptor, listener.fileDescriptor])
        #expect(Listener.isShared(sockets[0], in: sockets))
        #expect(listener.loopSockets(count: 1) == [listener.fileDescriptor])
    }

    @Test func aSecondListenerOnTheSameAddressIsRefusedWithTheAddress() throws {
        let first = try Listener.tcp(host: "127.0.0.1", port: 0)
        defer { first.close() }
        _ = first.loopSockets(count: 2)
        let port = try #require(first.port)
        // Both would have SO_REUSEPORT, which alone would let the second join and take a share
        // of the connections: the exclusive bind before it refuses.
        let error = #expect(throws: ListenerError.self) {
            try Listener.tcp(host: "127.0.0.1", port: port)
        }
        let text = error?.description ?? ""
        #expect(text.contains("127.0.0.1:\(port)"))
        #expect(text.contains("bind failed"))
        #expect(text.contains("something already listens on 127.0.0.1:\(port)"))
    }

    @Test func aPortAnotherProcessListensOnWithoutReusePortIsRefused() throws {
        // A plain listening socket, as any other program would have.
        let other = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { _ = Glibc.close(other) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(other, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(bound == 0)
        #expect(listen(other, 8) == 0)
        let port = try Listener.boundAddress(of: other).port
        #expect(throws: ListenerError.self) { try Listener.tcp(host: "127.0.0.1", port: port) }
    }
}
