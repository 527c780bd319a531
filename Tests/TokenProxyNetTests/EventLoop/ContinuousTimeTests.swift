import Testing

@testable import TokenProxyNet

/// `ContinuousTime`: the loops' clock is `ContinuousClock`'s, so instants convert exactly.
@Suite(.timeLimit(.minutes(1)))
struct ContinuousTimeTests {
    @Test func readsTheSameClockAsContinuousClock() {
        let before = ContinuousTime.now()
        let instant = ContinuousTime.nanoseconds(ContinuousClock.now)
        let after = ContinuousTime.now()
        #expect(before <= instant)
        #expect(instant <= after)
        #expect(EventLoop.now() >= after)
    }

    @Test func convertsInstantsBothWays() {
        let now = ContinuousTime.now()
        #expect(ContinuousTime.nanoseconds(ContinuousTime.instant(now)) == now)
        let later = ContinuousTime.instant(now) + .milliseconds(1500)
        #expect(ContinuousTime.nanoseconds(later) == now + 1_500_000_000)
        // A fraction of a nanosecond rounds down.
        #expect(ContinuousTime.nanoseconds(later + .nanoseconds(1) / 2) == now + 1_500_000_000)
        #expect(ContinuousTime.nanoseconds(ContinuousClock().systemEpoch - .seconds(1)) == 0)
    }
}
