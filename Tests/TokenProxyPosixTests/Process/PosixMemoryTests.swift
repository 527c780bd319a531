import Testing
import TokenProxyPosix

@Suite(.timeLimit(.minutes(1)))
struct PosixMemoryTests {
    /// The CPU time counts what this process burns, and never goes back.
    @Test func processCPUTimeGrowsWithWork() throws {
        let before = try Posix.processCPUTime()
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(30)
        var spins = 0
        while clock.now < end { spins &+= 1 }
        let after = try Posix.processCPUTime()
        #expect(spins > 0)
        #expect(after - before >= .milliseconds(10))
    }

    /// The status file's bytes, read to the end; a missing file is nil.
    @Test func readsKernelBytes() throws {
        let status = try #require(Posix.readKernelBytes("/proc/self/status", limit: 64 * 1024))
        #expect(String(decoding: status, as: UTF8.self).contains("RssFile:"))
        #expect(Posix.readKernelBytes("/proc/self/no-such-file", limit: 16) == nil)
    }
}
