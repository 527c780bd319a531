import Glibc
import Testing

@testable import TokenProxyPosix

/// The errno policy of `Posix.syscall` and the socket wrappers, over socketpairs.
@Suite(.timeLimit(.minutes(1)))
struct PosixTests {
    /// A connected, non-blocking Unix stream socket pair, for the caller to adopt.
    static func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        try #require(socketpair(AF_UNIX, type, 0, &fds) == 0)
        return (fds[0], fds[1])
    }

    @Test func returnsWouldBlockForEAGAIN() throws {
        let (a, b) = try Self.socketPair()
        let local = FileDescriptor(adopting: a)
        let remote = FileDescriptor(adopting: b)
        var byte: UInt8 = 0
        let result = try Posix.syscall("recv") { recv(local.rawValue, &byte, 1, 0) }
        #expect(result == .wouldBlock)
        try remote.close()
    }

    @Test func throwsOtherFailuresWithTheCallName() {
        let error = #expect(throws: PosixError.self) {
            _ = try Posix.syscall("open") { () -> Int32 in
                errno = ENOENT
                return -1
            }
        }
        #expect(error == PosixError(call: "open", errno: ENOENT))
        #expect(error?.description == "open failed: No such file or directory (errno 2)")
    }

    @Test func retriesInterruptedCalls() throws {
        var attempts = 0
        let result = try Posix.syscall("read") { () -> Int32 in
            attempts += 1
            if attempts < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == .done(7))
        #expect(attempts == 3)
    }

    @Test func nonBlockingCallsReportEAGAINAsAnError() {
        let error = #expect(throws: PosixError.self) {
            try Posix.syscallNonBlocking("setsockopt") { () -> Int32 in
                errno = EAGAIN
                return -1
            }
        }
        #expect(error?.errno == EAGAIN)
    }

    @Test func hintsAtTheRemedyForCommonErrnos() {
        #expect(PosixError(call: "accept4", errno: EMFILE).description.contains("LimitNOFILE="))
        #expect(PosixError(call: "open", errno: EACCES).description.contains("check permissions"))
        #expect(PosixError(call: "recv", errno: ECONNRESET).hint == nil)
    }

    @Test func sendsGatheredBuffersInOneCall() throws {
        let (a, b) = try Self.socketPair()
        let local = FileDescriptor(adopting: a)
        let remote = FileDescriptor(adopting: b)
        let head = Array("HTTP/1.1 200 OK\r\n\r\n".utf8)
        let body = Array("hello".utf8)
        let sent = try head.withUnsafeBytes { headBytes in
            try body.withUnsafeBytes { try Posix.send(local.rawValue, headBytes, $0) }
        }
        #expect(sent == .done(head.count + body.count))
        var buffer = [UInt8](repeating: 0, count: 64)
        let received = try buffer.withUnsafeMutableBytes {
            try Posix.receive(remote.rawValue, into: $0)
        }
        #expect(received == .done(head.count + body.count))
        #expect(Array(buffer[0..<(head.count + body.count)]) == head + body)
    }

    @Test func receivesEndOfStreamAsZero() throws {
        let (a, b) = try Self.socketPair()
        let local = FileDescriptor(adopting: a)
        let remote = FileDescriptor(adopting: b)
        try local.close()
        var buffer = [UInt8](repeating: 0, count: 8)
        let received = try buffer.withUnsafeMutableBytes {
            try Posix.receive(remote.rawValue, into: $0)
        }
        #expect(received == .done(0))
    }

    @Test func sendingToAClosedPeerThrowsEPIPEInsteadOfRaisingSIGPIPE() throws {
        let (a, b) = try Self.socketPair()
        let local = FileDescriptor(adopting: a)
        let remote = FileDescriptor(adopting: b)
        try remote.close()
        let error = #expect(throws: PosixError.self) {
            _ = try [UInt8(1)].withUnsafeBytes { try Posix.send(local.rawValue, $0) }
        }
        #expect(error?.call == "send")
        #expect(error?.errno == EPIPE)
    }

    @Test func readsSocketOptionsAndPeerCredentials() throws {
        let (a, b) = try Self.socketPair()
        let local = FileDescriptor(adopting: a)
        let remote = FileDescriptor(adopting: b)
        let type = try Posix.socketOption(local.rawValue, level: SOL_SOCKET, option: SO_TYPE)
        #expect(type == Int32(SOCK_STREAM.rawValue))
        let credentials = try Posix.peerCredentials(local.rawValue)
        #expect(credentials.uid == getuid())
        #expect(credentials.pid == getpid())
        try remote.close()
    }

    @Test func setsQuickAckOnTCPAndReportsItElsewhere() throws {
        let tcp = try Posix.socket(family: AF_INET, type: Int32(SOCK_STREAM.rawValue))
        try Posix.setQuickAck(tcp.rawValue)
        #expect(
            try Posix.socketOption(tcp.rawValue, level: Int32(IPPROTO_TCP), option: TCP_QUICKACK)
                == 1)
        try tcp.close()
        let (a, b) = try Self.socketPair()
        let local = FileDescriptor(adopting: a)
        let remote = FileDescriptor(adopting: b)
        let error = #expect(throws: PosixError.self) { try Posix.setQuickAck(local.rawValue) }
        #expect(error?.call == "setsockopt")
        try local.close()
        try remote.close()
    }
}
