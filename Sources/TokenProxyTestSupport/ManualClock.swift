import Synchronization
import TokenProxyCore

/// A ``TokenServiceClock`` for tests: time stands still until `advance(by:)` moves it, which
/// wakes every sleeper whose deadline has passed, earliest first. A sleep whose deadline has
/// already passed returns at once, so a sleeper registering after an advance is never lost.
/// Nothing depends on real time or scheduler timing.
package final class ManualClock: TokenServiceClock {
    private struct Sleeper {
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: ContinuousClock.Instant
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
        var cancelledBeforeRegistering: Set<Int> = []
        var sleeperWatchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: Mutex<State>
    private let start: ContinuousClock.Instant
    private let unixStart: Double

    /// A clock standing at `start` (any instant works: only differences matter) whose wall
    /// clock reads `unixStart` then and moves in step with `advance`.
    package init(
        start: ContinuousClock.Instant = ContinuousClock.now, unixStart: Double = 1_800_000_000
    ) {
        state = Mutex(State(now: start))
        self.start = start
        self.unixStart = unixStart
    }

    /// The instant the clock stands at; moves only through `advance`.
    package var now: ContinuousClock.Instant { state.withLock { $0.now } }

    /// `unixStart` plus the time advanced since the start.
    package var unixTime: Double {
        let (seconds, attoseconds) = (now - start).components
        return unixStart + Double(seconds) + Double(attoseconds) / 1e18
    }

    /// How many tasks are sleeping on this clock.
    package var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// The earliest deadline of a sleeping task.
    package var nextDeadline: ContinuousClock.Instant? {
        state.withLock { $0.sleepers.values.map(\.deadline).min() }
    }

    /// Parks the caller until `advance` reaches `deadline` (returns at once if it already has).
    package func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<Void, any Error>) in
                let watchers: [CheckedContinuation<Void, Never>]? = state.withLock { state in
                    if state.cancelledBeforeRegistering.remove(id) != nil {
                        continuation.resume(throwing: CancellationError())
                        return nil
                    }
                    if deadline <= state.now {
                        continuation.resume()
                        return nil
                    }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return Self.takeSatisfiedWatchers(&state)
                }
                watchers?.forEach { $0.resume() }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { state in
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelledBeforeRegistering.insert(id)
                    return nil
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward by `duration` and wakes the sleepers that are now due.
    package func advance(by duration: Duration) {
        advance(to: now + duration)
    }

    /// Moves time forward to `instant` (never backwards) and wakes the sleepers that are due.
    package func advance(to instant: ContinuousClock.Instant) {
        let due: [Sleeper] = state.withLock { state in
            state.now = max(state.now, instant)
            let now = state.now
            let dueIDs = state.sleepers.filter { $0.value.deadline <= now }.map(\.key)
            return dueIDs.compactMap { state.sleepers.removeValue(forKey: $0) }
                .sorted { $0.deadline < $1.deadline }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Returns once at least `count` tasks are sleeping on this clock: lets a test wait for a
    /// timer to be armed without polling.
    package func waitForSleepers(count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.sleepers.count >= count { return true }
                state.sleeperWatchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private static func takeSatisfiedWatchers(_ state: inout State) -> [CheckedContinuation<
        Void, Never
    >] {
        let count = state.sleepers.count
        let ready = state.sleeperWatchers.filter { $0.count <= count }.map(\.continuation)
        state.sleeperWatchers.removeAll { $0.count <= count }
        return ready
    }
}
