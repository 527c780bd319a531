import Foundation
import Testing
import TokenProxyTestSupport

@testable import TokenProxyCore

/// ``ManualClock`` (the tests' time source) and the real ``ContinuousTokenServiceClock``.
@Suite(.timeLimit(.minutes(1)))
struct TokenServiceClockTests {
    @Test func sleepUntilAPassedDeadlineReturnsAtOnce() async throws {
        let start = ContinuousClock.now
        let clock = ManualClock(start: start)
        try await clock.sleep(until: start)
        clock.advance(by: .seconds(5))
        try await clock.sleep(until: start + .seconds(3))
        #expect(clock.now == start + .seconds(5))
    }

    @Test func advanceWakesOnlyTheSleepersThatAreDue() async throws {
        let start = ContinuousClock.now
        let clock = ManualClock(start: start)
        let early = Task { try await clock.sleep(until: start + .seconds(10)) }
        let late = Task { try await clock.sleep(until: start + .seconds(20)) }
        await clock.waitForSleepers(count: 2)
        #expect(clock.nextDeadline == start + .seconds(10))
        clock.advance(by: .seconds(10))
        try await early.value
        #expect(clock.sleeperCount == 1)
        #expect(clock.nextDeadline == start + .seconds(20))
        clock.advance(to: start + .seconds(5))  // never backwards
        #expect(clock.now == start + .seconds(10))
        clock.advance(by: .seconds(10))
        try await late.value
        #expect(clock.sleeperCount == 0)
    }

    @Test func cancellingASleeperThrowsAndUnregistersIt() async {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(until: clock.now + .seconds(60)) }
        await clock.waitForSleepers(count: 1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func sleepInAnAlreadyCancelledTaskThrows() async {
        let clock = ManualClock()
        let sleeper = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(until: clock.now + .seconds(60))
        }
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func continuousClockReturnsForAPassedDeadline() async throws {
        let clock = ContinuousTokenServiceClock()
        let now = clock.now
        try await clock.sleep(until: now)
        #expect(clock.now >= now)
    }

    @Test func manualWallClockMovesWithAdvance() {
        let clock = ManualClock(unixStart: 1_800_000_000)
        #expect(clock.unixTime == 1_800_000_000)
        clock.advance(by: .milliseconds(2500))
        #expect(clock.unixTime == 1_800_000_002.5)
    }

    @Test func continuousClockWallTimeIsTheSystemTime() {
        let wall = ContinuousTokenServiceClock().unixTime
        #expect(abs(wall - Date().timeIntervalSince1970) < 5)
    }
}
