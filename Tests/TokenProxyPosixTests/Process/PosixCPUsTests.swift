import Testing

@testable import TokenProxyPosix

/// The affinity and kernel-text wrappers that `CPUBudget.measure` reads.
@Suite(.timeLimit(.minutes(1)))
struct PosixCPUsTests {
    @Test func affinityAllowsAtLeastOneCPU() throws {
        #expect(try Posix.schedGetAffinityCount() >= 1)
    }

    @Test func readsProcfsTextWhoseSizeIsZero() throws {
        let text = try #require(Posix.readKernelText("/proc/self/stat"))
        #expect(!text.isEmpty)
    }

    @Test func returnsNilForAMissingFile() {
        #expect(Posix.readKernelText("/nonexistent/cpu.max") == nil)
    }
}
