import CLinuxShims
import Glibc
import Testing

@testable import TokenProxyNet

struct SyscallTests {
    @Test func returnsWouldBlockForEAGAIN() throws {
        var fds: [Int32] = [0, 0]
        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        #expect(socketpair(AF_UNIX, socketType, 0, &fds) == 0)
        defer { fds.forEach { _ = close($0) } }
        var byte: UInt8 = 0
        let result = try syscall("recv") { recv(fds[0], &byte, 1, 0) }
        guard case .wouldBlock = result else {
            Issue.record("expected .wouldBlock, got \(result)")
            return
        }
    }

    @Test func throwsOtherFailuresWithTheCallName() {
        let error = #expect(throws: NetError.self) {
            _ = try syscall("open") { () -> Int32 in
                errno = ENOENT
                return -1
            }
        }
        guard case .syscall("open", ENOENT) = error else {
            Issue.record("expected .syscall(open, ENOENT), got \(String(describing: error))")
            return
        }
    }

    @Test func retriesInterruptedCalls() throws {
        var attempts = 0
        let result = try syscall("read") { () -> Int32 in
            attempts += 1
            if attempts < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        guard case .done(7) = result else {
            Issue.record("expected .done(7), got \(result)")
            return
        }
        #expect(attempts == 3)
    }

    @Test func roundsDeadlinesUpToWholeMilliseconds() {
        #expect(Poll.millisecondsUntil(.now - .seconds(1)) == nil)
        let waited = Poll.millisecondsUntil(.now + .microseconds(1500)) ?? 0
        #expect(waited >= 1 && waited <= 2)
        #expect(Poll.millisecondsUntil(.now + .seconds(1_000_000_000)) == Int32.max)
    }
}
