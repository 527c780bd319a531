import Foundation
import Synchronization
import Testing
import TokenProxyCore
import TokenProxyPosix

@testable import TokenProxyNet

/// The adaptive poll before a blocking `epoll_wait` (`EventLoopPoll`), its share of the load
/// measure, and a polling loop still delivering every event.
@Suite(.timeLimit(.minutes(1)))
struct EventLoopPollTests {
    static let limit: UInt64 = 30_000
    static let start = Limits.EventLoop.busyPollStartNanoseconds

    @Test func growsWhileWaitsEndWithinTheLimitUpToIt() {
        var poll = EventLoopPoll(limitNanoseconds: Self.limit)
        #expect(poll.budget == 0)
        poll.slept(5_000, at: 0)
        #expect(poll.budget == Self.start)
        poll.slept(5_000, at: 0)
        #expect(poll.budget == 2 * Self.start)
        poll.slept(29_999, at: 0)
        #expect(poll.budget == Self.limit)  // 40 µs capped
        poll.slept(1, at: 0)
        #expect(poll.budget == Self.limit)
    }

    @Test func halvesAfterALongSleepAndStopsBelowTheFloor() {
        var poll = EventLoopPoll(limitNanoseconds: Self.limit)
        for _ in 0..<3 { poll.slept(1_000, at: 0) }
        #expect(poll.budget == Self.limit)
        poll.slept(Self.limit, at: 0)  // as long as the limit: polling would not have caught it
        #expect(poll.budget == Self.limit / 2)
        poll.slept(1_000_000, at: 0)
        #expect(poll.budget == Self.limit / 4)
        poll.slept(1_000_000, at: 0)  // 3.75 µs: below the floor
        #expect(poll.budget == Self.limit / 8)
        poll.slept(1_000_000, at: 0)
        #expect(poll.budget == 0)
    }

    /// One connection's pattern: wake-ups 50–100 µs apart never start a poll of 30 µs.
    @Test func eventsFurtherApartThanTheLimitNeverPoll() {
        var poll = EventLoopPoll(limitNanoseconds: Self.limit)
        for gap in stride(from: UInt64(50_000), through: 100_000, by: 5_000) {
            poll.slept(gap, at: 0)
            #expect(poll.budget == 0)
        }
    }

    /// A slow try counts as a shared CPU only when the thread's involuntary context switches
    /// grew since the last slow try (an interrupt or the hypervisor lengthens tries too); then
    /// no polling for the hold-off, however short the waits, and it grows again from the start.
    @Test func aSharedCPUHoldsPollingOffForTheHoldoff() {
        let holdoff = Limits.EventLoop.busyPollHoldoffNanoseconds
        var poll = EventLoopPoll(limitNanoseconds: Self.limit)
        for _ in 0..<3 { poll.slept(1_000, at: 0) }
        #expect(poll.budget == Self.limit)
        // The first slow try only learns the count; the same count again is an interruption.
        var shared = poll.slowTry(at: 500_000, involuntarySwitches: 7)
        #expect(!shared)
        shared = poll.slowTry(at: 600_000, involuntarySwitches: 7)
        #expect(!shared)
        #expect(poll.budget == Self.limit)
        shared = poll.slowTry(at: 1_000_000, involuntarySwitches: 8)
        #expect(shared)
        #expect(poll.budget == 0)
        poll.slept(1_000, at: 1_000_000 + holdoff - 1)
        #expect(poll.budget == 0)
        poll.slept(1_000, at: 1_000_000 + holdoff)
        #expect(poll.budget == Self.start)
        shared = poll.slowTry(at: 2_000_000 + holdoff, involuntarySwitches: 8)
        #expect(!shared)
    }

    /// What the loop reads: a yield that let another thread run on the same CPU counts as an
    /// involuntary switch of this thread.
    @Test func aYieldToAnotherThreadCountsAsAnInvoluntarySwitch() {
        // More spinning threads than CPUs, so this thread's CPU always has another one ready.
        let stop = Atomic<Bool>(false)
        let cpus = (try? Posix.schedGetAffinityCount()) ?? 1
        for _ in 0...cpus {
            Thread.detachNewThread { while !stop.load(ordering: .relaxed) {} }
        }
        defer { stop.store(true, ordering: .relaxed) }
        let before = Posix.involuntarySwitches()
        let deadline = ContinuousTime.now() &+ 2_000_000_000
        var after = before
        while after == before && ContinuousTime.now() < deadline {
            Posix.yieldCPU()
            after = Posix.involuntarySwitches()
        }
        #expect(after > before)
    }

    @Test func aLimitOfZeroNeverPolls() {
        var poll = EventLoopPoll(limitNanoseconds: 0)
        for _ in 0..<5 { poll.slept(0, at: 0) }
        #expect(poll.budget == 0)
    }

    /// Polled time is not load: a loop that spins waiting for events is no busier, and counted
    /// it would look busy to placement (`EventLoopGroup.placement`).
    @Test func polledTimeIsLeftOutOfTheLoad() {
        func measure(polled: Bool) -> Int {
            let load = EventLoopLoad()
            let begin = ContinuousTime.now()
            var meter = EventLoopLoadMeter(now: begin, load: load)
            var now = begin
            // On the CPU for two windows: as a poll would be.
            while now &- begin < 2 * Limits.EventLoop.loadWindowNanoseconds {
                now = ContinuousTime.now()
            }
            if polled { meter.polled(now &- begin) }
            meter.woke(at: now, load: load)
            return load.busyPermille
        }
        #expect(measure(polled: false) > 700)
        #expect(measure(polled: true) < 300)
    }

    /// Jobs posted from another thread both close together (the loop polls) and far apart
    /// (it blocks): every one runs, in order.
    @Test func aPollingLoopDeliversEveryEvent() async {
        let loop = EventLoop(name: "poll-test", busyPollMicroseconds: 30)
        loop.start()
        defer { loop.stop() }
        let ran = Mutex<[Int]>([])
        for index in 0..<200 {
            loop.execute { ran.withLock { $0.append(index) } }
            let pause = index % 20 == 0 ? 300_000 : (index % 2 == 0 ? 3_000 : 40_000)
            let until = ContinuousTime.now() &+ UInt64(pause)
            while ContinuousTime.now() < until {}
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { continuation.resume() }
        }
        #expect(ran.withLock { $0 } == Array(0..<200))
    }
}
