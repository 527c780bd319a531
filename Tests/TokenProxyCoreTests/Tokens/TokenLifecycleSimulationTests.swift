import Testing

@testable import TokenProxyCore

/// Drives one lifecycle through thousands of seeded random events — requests with and without
/// `minValid`, slow and failing fetches, timers — and checks the invariants after every step.
@Suite(.timeLimit(.minutes(1)))
struct TokenLifecycleSimulationTests {
    @Test(arguments: [(1 as UInt64, 4.0), (2, 120), (3, 600), (4, 43200), (5, 4), (6, 120)])
    func servedTokensAreNeverExpiredOverManyLifetimes(seed: UInt64, lifetimeSeconds: Double) {
        let lifetime = Duration.seconds(lifetimeSeconds)
        var random = SeededRandom(seed: seed)
        var lifecycle = TokenLifecycle<Int>()
        let t0 = ContinuousClock.now
        var now = t0
        var fetchDoneAt: ContinuousClock.Instant?
        var nextRequest = t0
        var issued = 0
        var served = 0
        var unavailable = 0

        func latency() -> Duration { lifetime * Double.random(in: 0...0.3, using: &random) }

        if lifecycle.start(now: now) == .startFetch { fetchDoneAt = now + latency() }
        for _ in 0..<4000 {
            let next = [fetchDoneAt, lifecycle.nextDeadline, nextRequest].compactMap { $0 }.min()!
            now = max(now, next)
            if let done = fetchDoneAt, done <= now {
                fetchDoneAt = nil
                if Int.random(in: 0..<4, using: &random) == 0 {
                    let category = TokenFetchFailureCategory.allCases.randomElement(using: &random)!
                    guard
                        case .failWaiters = lifecycle.fetchFailed(
                            category: category, message: "simulated", now: now, using: &random)
                    else {
                        Issue.record("a failure with a fetch in flight must be handled")
                        return
                    }
                } else {
                    issued += 1
                    let expiresIn: Duration? = Bool.random(using: &random) ? lifetime : nil
                    _ = lifecycle.fetchSucceeded(
                        FetchedToken(value: issued, expiresIn: expiresIn), now: now, using: &random)
                }
            } else if let deadline = lifecycle.nextDeadline, deadline <= now {
                if lifecycle.timerFired(now: now) == .startFetch {
                    #expect(fetchDoneAt == nil)
                    fetchDoneAt = now + latency()
                }
                // A fired deadline always moves the state on: the service's timer cannot spin.
                #expect(lifecycle.nextDeadline.map { $0 > now } ?? true)
            } else {
                let minValid: Duration? =
                    Int.random(in: 0..<3, using: &random) == 0 ? lifetime * 0.3 : nil
                switch lifecycle.tokenRequested(now: now, minValid: minValid) {
                case .serve(let held):
                    served += 1
                    #expect(held.expiresAt > now)
                    if let minValid { #expect(held.expiresAt - now >= minValid) }
                case .waitForFetch(let startFetch):
                    #expect(startFetch == (fetchDoneAt == nil))
                    if startFetch { fetchDoneAt = now + latency() }
                case .unavailable(let retryAfter, let lastError):
                    unavailable += 1
                    #expect(retryAfter > .zero)
                    #expect(lastError != nil)
                }
                nextRequest = now + lifetime * Double.random(in: 0...0.25, using: &random)
            }
            #expect(lifecycle.isFetching == (fetchDoneAt != nil))
        }
        #expect(served > 500)
        #expect(issued > 10)
    }
}
