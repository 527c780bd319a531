import Glibc
import Testing

@testable import TokenProxyPosix

@Suite(.timeLimit(.minutes(1)))
struct PollTests {
    @Test func roundsDeadlinesUpToWholeMilliseconds() {
        #expect(Poll.millisecondsUntil(.now - .seconds(1)) == nil)
        let waited = Poll.millisecondsUntil(.now + .microseconds(1500)) ?? 0
        #expect(waited >= 1 && waited <= 2)
        #expect(Poll.millisecondsUntil(.now + .seconds(1_000_000_000)) == Int32.max)
    }

    @Test func returnsFalseOnceTheDeadlinePasses() throws {
        let (a, b) = try PosixTests.socketPair()
        let local = FileDescriptor(adopting: a)
        let remote = FileDescriptor(adopting: b)
        let started = ContinuousClock.now
        #expect(
            try !Poll.wait(fd: local.rawValue, for: Int16(POLLIN), until: .now + .milliseconds(20)))
        #expect(ContinuousClock.now - started >= .milliseconds(20))
        try remote.close()
    }

    @Test func reportsAHangUpAsReadable() throws {
        let (a, b) = try PosixTests.socketPair()
        let local = FileDescriptor(adopting: a)
        let remote = FileDescriptor(adopting: b)
        #expect(!Poll.isReadableOrClosed(fd: local.rawValue))
        try remote.close()
        #expect(Poll.isReadableOrClosed(fd: local.rawValue))
    }
}
