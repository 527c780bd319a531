import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// The load a loop publishes and the placement rule that reads it (`EventLoopLoad`,
/// `EventLoopGroup.placement`), without threads: the loops are driven through the meter.
@Suite
struct EventLoopLoadTests {
    static let window = Limits.EventLoop.loadWindowNanoseconds

    /// A load whose loop is awake (a new one counts as asleep until its loop first woke).
    static func awakeLoad() -> EventLoopLoad {
        let load = EventLoopLoad()
        load.setWaiting(false)
        return load
    }

    @Test func aLoopThatHasNotStartedCountsAsAsleep() {
        let load = EventLoopLoad()
        let now = ContinuousTime.now()
        #expect(!load.isBusy(now: now + 100 * Self.window))
        #expect(load.permille(now: now) == 0)
        load.setWaiting(false)
        #expect(load.isBusy(now: now + 100 * Self.window))
    }

    @Test func permilleIsCPUOverWallCappedAtAWholeCPU() {
        #expect(EventLoopLoadMeter.permille(cpu: 0, wall: Self.window) == 0)
        #expect(EventLoopLoadMeter.permille(cpu: Self.window / 4, wall: Self.window) == 250)
        #expect(EventLoopLoadMeter.permille(cpu: Self.window, wall: Self.window) == 1_000)
        // The two clocks are read a moment apart: a little more CPU than wall is a whole CPU.
        #expect(EventLoopLoadMeter.permille(cpu: Self.window + 5_000, wall: Self.window) == 1_000)
        #expect(EventLoopLoadMeter.permille(cpu: 10, wall: 0) == 0)
    }

    @Test func aLoopIsBusyFromHalfACPUWhileItsMeasureIsFresh() {
        let load = Self.awakeLoad()
        let at: UInt64 = 5_000_000_000
        load.publish(permille: Limits.EventLoop.busyPermille - 1, at: at)
        #expect(!load.isBusy(now: at + 1))
        load.publish(permille: Limits.EventLoop.busyPermille, at: at)
        #expect(load.isBusy(now: at + 1))
        #expect(load.isBusy(now: at + 2 * Self.window))
        // Dipping into epoll_wait between batches does not make a loaded loop idle while its
        // measure is fresh; asleep for longer than that, it is.
        load.setWaiting(true)
        #expect(load.isBusy(now: at + 1))
        #expect(!load.isBusy(now: at + 2 * Self.window + 1))
        load.setWaiting(false)
        // A clock a little behind the loop's own (another loop's) is still fresh.
        #expect(load.isBusy(now: at - 1_000))
    }

    @Test func anAwakeLoopThatHasNotMeasuredForTwoWindowsIsBusy() {
        let load = Self.awakeLoad()
        let at: UInt64 = 5_000_000_000
        load.publish(permille: 0, at: at)
        #expect(!load.isBusy(now: at + 2 * Self.window))
        #expect(load.isBusy(now: at + 2 * Self.window + 1))
        load.setWaiting(true)
        #expect(!load.isBusy(now: at + 100 * Self.window))
        // An idle measure while asleep or awake alike, as long as it is fresh.
        #expect(!load.isBusy(now: at + 1))
    }

    @Test func theReportedShareIsTheFreshMeasureElseAsleepOrStuck() {
        let load = Self.awakeLoad()
        let at: UInt64 = 5_000_000_000
        load.publish(permille: 437, at: at)
        #expect(load.permille(now: at + 2 * Self.window) == 437)
        #expect(load.permille(now: at + 2 * Self.window + 1) == 1_000)
        load.setWaiting(true)
        #expect(load.permille(now: at + 1) == 437)
        #expect(load.permille(now: at + 2 * Self.window + 1) == 0)
    }

    @Test func theMeterPublishesOncePerWindowAtAWakeUp() {
        let load = Self.awakeLoad()
        let start: UInt64 = 1_000_000_000
        var meter = EventLoopLoadMeter(now: start, load: load)
        #expect(load.busyPermille == 0)
        #expect(!load.isBusy(now: start + 2 * Self.window))
        // Within the window nothing is measured: still the start's stamp.
        meter.woke(at: start + Self.window - 1, load: load)
        #expect(load.isBusy(now: start + 2 * Self.window + 1))
        // Once it passed, the wake-up measures (this thread used next to no CPU over 10 ms of
        // the made-up wall clock) and stamps the measure with the wake-up's time.
        meter.woke(at: start + Self.window, load: load)
        #expect(!load.isBusy(now: start + 3 * Self.window))
        #expect(load.isBusy(now: start + 3 * Self.window + 1))
    }

    @Test func placementTakesTheFirstLoopThatIsNotBusy() {
        func place(_ busy: [Bool], _ connections: [Int], accepting: Int) -> Int {
            EventLoopGroup.placement(
                count: busy.count, accepting: accepting, isBusy: { busy[$0] },
                connections: { connections[$0] })
        }
        // Filling the first loop, even from the second (a hand-off) and with more connections.
        #expect(place([false, false], [40, 0], accepting: 1) == 0)
        #expect(place([true, false, false], [40, 3, 0], accepting: 0) == 1)
        #expect(place([true, true, false], [40, 3, 9], accepting: 0) == 2)
        // All busy: the fewest connections, the accepting loop on a tie.
        #expect(place([true, true, true], [40, 3, 9], accepting: 0) == 1)
        #expect(place([true, true, true], [5, 5, 5], accepting: 2) == 2)
        #expect(place([true], [7], accepting: 0) == 0)
    }
    @Test func balancedPlacementTakesTheFewestConnections() {
        func place(_ connections: [Int], accepting: Int) -> Int {
            EventLoopGroup.balanced(
                count: connections.count, accepting: accepting, connections: { connections[$0] })
        }
        // A tie keeps the connection where it was accepted (no hand-off).
        #expect(place([4, 4], accepting: 1) == 1)
        #expect(place([0], accepting: 0) == 0)
        // Otherwise the loop with the fewest, the first of equals.
        #expect(place([5, 4], accepting: 0) == 1)
        #expect(place([3, 9, 2, 2], accepting: 1) == 2)
        // Placing one at a time from the accepting loop keeps the counts within one of each
        // other, whichever loop the kernel woke.
        var counts = [0, 0, 0]
        for step in 0..<31 {
            counts[place(counts, accepting: step * 7 % 3)] += 1
            #expect(counts.max()! - counts.min()! <= 1)
        }
    }
}
