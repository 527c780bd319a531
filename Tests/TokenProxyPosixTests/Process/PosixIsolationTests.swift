import Glibc
import Testing

@testable import TokenProxyPosix

@Suite(.timeLimit(.minutes(1)))
struct PosixIsolationTests {
    @Test func dumpableCanBeTurnedOffAndReadBack() throws {
        #expect(try Posix.isDumpable())
        try Posix.setDumpable(false)
        #expect(try !Posix.isDumpable())
        // Owner of /proc/self/* is root now (proc(5)); restore for the rest of the test run.
        try Posix.setDumpable(true)
        #expect(try Posix.isDumpable())
    }

    @Test func readsProcSelfExe() throws {
        let exe = try #require(Posix.readLink("/proc/self/exe"))
        #expect(exe.hasPrefix("/"))
        #expect(Posix.readLink("/proc/self/no-such-link") == nil)
    }

    @Test func looksUpUsers() throws {
        #expect(try Posix.userID(named: "root") == 0)
        #expect(try Posix.userID(named: "no-such-user-tokenproxy-test") == nil)
    }
}
