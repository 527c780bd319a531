import Testing

@testable import TokenProxyPosix

/// The clock an event loop measures its load with: run time plus time waiting to run.
@Suite(.timeLimit(.minutes(1)))
struct ThreadDemandClockTests {
    static func demand(_ text: String) -> UInt64? {
        Array(text.utf8).withUnsafeBytes { ThreadDemandClock.demand(schedstat: $0) }
    }

    @Test func sumsTheFirstTwoFieldsOfSchedstat() {
        #expect(Self.demand("726613 0 1\n") == 726_613)
        #expect(Self.demand("1000 250 7\n") == 1_250)
        // Only two fields are needed; the slice count may be cut off by a short read.
        #expect(Self.demand("5 6 ") == 11)
    }

    @Test func refusesTextThatIsNotSchedstat() {
        #expect(Self.demand("") == nil)
        #expect(Self.demand("12") == nil)
        #expect(Self.demand("12 x 3\n") == nil)
        #expect(Self.demand("-1 2 3\n") == nil)
        #expect(Self.demand("99999999999999999999999 1 1\n") == nil)
    }

    @Test func countsTheThreadsWorkAndReadsSchedstatHere() {
        let clock = ThreadDemandClock()
        // Linux with /proc and schedstats (CI and our containers); the fallback is CPU time.
        #expect(clock.countsWaiting)
        let before = clock.nanoseconds()
        var spin: UInt64 = 0
        let cpuStart = Posix.threadCPUNanoseconds()
        while Posix.threadCPUNanoseconds() - cpuStart < 5_000_000 { spin &+= 1 }
        let after = clock.nanoseconds()
        // At least the 5 ms of CPU just spent (schedstat and CPU time count the same runs).
        #expect(after - before >= 4_000_000, "spun \(spin) times")
    }
}
