import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct IdleMemoryReleaseTests {
    private let start = ContinuousClock.now
    private func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    /// Start-up's release sets the baseline; before it, nothing is released again.
    @Test func releasesNothingBeforeTheFirstRelease() {
        var policy = IdleMemoryRelease()
        _ = policy.check(now: at(0), cpuTime: .zero, residentFileKiB: 4000)
        #expect(
            !policy.check(now: at(2), cpuTime: .zero, residentFileKiB: 9000).releaseFileMappings)
    }

    /// Serving faulted 5 MiB back in; the next quiet check drops it again.
    @Test func releasesOnceQuietAfterGrowth() {
        var policy = IdleMemoryRelease()
        policy.released(residentFileKiB: 4500, at: at(0), cpuTime: .milliseconds(50))
        // Busy: 100 requests' worth of CPU in the interval.
        #expect(
            !policy.check(now: at(12), cpuTime: .milliseconds(60), residentFileKiB: 9700)
                .releaseFileMappings)
        // Quiet: a few microseconds of timers.
        #expect(
            policy.check(
                now: at(14), cpuTime: .milliseconds(60) + .microseconds(40),
                residentFileKiB: 9700
            ).releaseFileMappings)
    }

    @Test func leavesSmallGrowthAlone() {
        var policy = IdleMemoryRelease()
        policy.released(residentFileKiB: 4500, at: at(0), cpuTime: .zero)
        _ = policy.check(now: at(12), cpuTime: .milliseconds(20), residentFileKiB: 5000)
        #expect(
            !policy.check(now: at(14), cpuTime: .milliseconds(20), residentFileKiB: 5400)
                .releaseFileMappings)
    }

    /// Idle, the daemon's own timers fault a little code back in after a release; without a
    /// busy check in between that growth is the new baseline, never a reason to release.
    @Test func neverReleasesAgainWhileIdle() {
        var policy = IdleMemoryRelease()
        policy.released(residentFileKiB: 4500, at: at(0), cpuTime: .zero)
        for (second, kib) in [(2, 5800), (12, 6300), (22, 6300), (60, 6400)] {
            #expect(
                !policy.check(now: at(second), cpuTime: .zero, residentFileKiB: kib)
                    .releaseFileMappings)
        }
        // Then a burst: only growth above the idle level counts.
        _ = policy.check(now: at(62), cpuTime: .milliseconds(30), residentFileKiB: 9000)
        #expect(
            !policy.check(now: at(64), cpuTime: .milliseconds(30), residentFileKiB: 7000)
                .releaseFileMappings)
        #expect(
            policy.check(now: at(66), cpuTime: .milliseconds(30), residentFileKiB: 9000)
                .releaseFileMappings)
    }

    /// A trickle of requests: quiet checks, growth each time, but at most one release per
    /// `idleReleaseSpacing`.
    @Test func spacesReleasesApart() {
        var policy = IdleMemoryRelease()
        policy.released(residentFileKiB: 4500, at: at(0), cpuTime: .zero)
        _ = policy.check(now: at(2), cpuTime: .milliseconds(5), residentFileKiB: 9700)
        #expect(
            !policy.check(now: at(4), cpuTime: .milliseconds(5), residentFileKiB: 9700)
                .releaseFileMappings)
        #expect(
            policy.check(now: at(10), cpuTime: .milliseconds(5), residentFileKiB: 9700)
                .releaseFileMappings)
    }

    @Test func trimsTheHeapOnItsOwnCadence() {
        var policy = IdleMemoryRelease()
        #expect(policy.check(now: at(0), cpuTime: .zero, residentFileKiB: nil).trimHeap)
        #expect(!policy.check(now: at(2), cpuTime: .zero, residentFileKiB: nil).trimHeap)
        #expect(!policy.check(now: at(29), cpuTime: .zero, residentFileKiB: nil).trimHeap)
        #expect(policy.check(now: at(30), cpuTime: .zero, residentFileKiB: nil).trimHeap)
    }

    /// An unreadable status never triggers a release.
    @Test func needsTheResidentSize() {
        var policy = IdleMemoryRelease()
        policy.released(residentFileKiB: 4500, at: at(0), cpuTime: .zero)
        _ = policy.check(now: at(12), cpuTime: .milliseconds(9), residentFileKiB: 9700)
        #expect(
            !policy.check(now: at(14), cpuTime: .milliseconds(9), residentFileKiB: nil)
                .releaseFileMappings)
        #expect(
            policy.check(now: at(16), cpuTime: .milliseconds(9), residentFileKiB: 9700)
                .releaseFileMappings)
    }

    @Test func readsRssFileFromStatus() {
        let status =
            "Name:\ttokenproxy\nVmRSS:\t   12796 kB\nRssAnon:\t    3024 kB\nRssFile:\t    9772 kB\nRssShmem:\t       0 kB\n"
        #expect(IdleMemoryRelease.residentFileKiB(status: Array(status.utf8)) == 9772)
        #expect(IdleMemoryRelease.residentFileKiB(status: Array("XRssFile: 5 kB\n".utf8)) == nil)
        #expect(IdleMemoryRelease.residentFileKiB(status: Array("RssFile:\tx kB\n".utf8)) == nil)
        #expect(IdleMemoryRelease.residentFileKiB(status: []) == nil)
    }
}
