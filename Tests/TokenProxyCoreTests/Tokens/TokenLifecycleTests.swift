import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct TokenLifecycleTests {
    typealias Lifecycle = TokenLifecycle<String>
    let t0 = ContinuousClock.now

    /// A lifecycle that has fetched `value` (lifetime `lifetime`) at `t0`.
    func validLifecycle(
        lifetime: Duration, random: FixedRandom = .half, value: String = "tok-1"
    ) -> Lifecycle {
        var lifecycle = Lifecycle()
        var random = random
        _ = lifecycle.start(now: t0)
        _ = lifecycle.fetchSucceeded(
            FetchedToken(value: value, expiresIn: lifetime), now: t0, using: &random)
        return lifecycle
    }

    @Test func startFetchesOnceAndParksCallersUntilTheTokenArrives() {
        var lifecycle = Lifecycle()
        var random = FixedRandom.half
        #expect(lifecycle.start(now: t0) == .startFetch)
        #expect(lifecycle.start(now: t0) == .doNothing)
        #expect(lifecycle.stateName == .fetching)
        guard case .waitForFetch(startFetch: false) = lifecycle.tokenRequested(now: t0) else {
            Issue.record("a caller during the first fetch must join it")
            return
        }
        let action = lifecycle.fetchSucceeded(
            FetchedToken(value: "tok", expiresIn: .seconds(600)), now: t0 + .seconds(1),
            using: &random)
        guard case .resumeWaiters(let held, let refreshAt) = action else {
            Issue.record("expected resumeWaiters, got \(action)")
            return
        }
        #expect(held.value == "tok")
        #expect(held.expiresAt == t0 + .seconds(600))  // counted from the fetch's start
        #expect(refreshAt == t0 + .seconds(300))
        guard case .serve(let served) = lifecycle.tokenRequested(now: t0 + .seconds(2)) else {
            Issue.record("a valid token must be served")
            return
        }
        #expect(served.value == "tok")
    }

    @Test func requestBeforeStartStartsTheFirstFetch() {
        var lifecycle = Lifecycle()
        guard case .waitForFetch(startFetch: true) = lifecycle.tokenRequested(now: t0) else {
            Issue.record("expected the request to start a fetch")
            return
        }
        #expect(lifecycle.inFlightReason == .initial)
        #expect(lifecycle.start(now: t0) == .doNothing)
    }

    @Test(arguments: [4.0, 120, 600, 43200])
    func refreshFiresAtThePolicyTimeForJitterExtremes(lifetimeSeconds: Double) {
        let lifetime = Duration.seconds(lifetimeSeconds)
        let policy = RefreshPolicy()
        for (random, unit) in [(FixedRandom.zero, 0.0), (.half, 0.5), (.max, 1.0)] {
            var lifecycle = validLifecycle(lifetime: lifetime, random: random)
            let refreshAt = t0 + policy.refreshDelay(lifetime: lifetime, unit: unit)
            #expect(lifecycle.nextDeadline == refreshAt)
            #expect(refreshAt > t0)
            #expect(refreshAt <= t0 + lifetime - min(.seconds(60), lifetime * 0.5))
            #expect(lifecycle.timerFired(now: refreshAt - .milliseconds(1)) == .doNothing)
            #expect(lifecycle.timerFired(now: refreshAt) == .startFetch)
            #expect(lifecycle.stateName == .refreshing)
            #expect(lifecycle.inFlightReason == .scheduled)
            // The old token keeps being served while the refresh runs.
            guard case .serve = lifecycle.tokenRequested(now: refreshAt) else {
                Issue.record("the still-valid token must be served during a refresh")
                continue
            }
        }
    }

    @Test func neverServesATokenAtOrAfterExpiry() {
        var lifecycle = validLifecycle(lifetime: .seconds(4))
        _ = lifecycle.timerFired(now: t0 + .seconds(2))  // refresh starts and hangs
        guard case .serve = lifecycle.tokenRequested(now: t0 + .seconds(3.999)) else {
            Issue.record("still valid at 3.999 s")
            return
        }
        guard
            case .waitForFetch(startFetch: false) = lifecycle.tokenRequested(now: t0 + .seconds(4))
        else {
            Issue.record("must not serve at expiry; must join the fetch in flight")
            return
        }
        #expect(lifecycle.timerFired(now: t0 + .seconds(4)) == .tokenExpired)
        #expect(lifecycle.stateName == .fetching)
    }

    @Test func minValidForcesARefreshTheCallerWaitsFor() {
        var lifecycle = validLifecycle(lifetime: .seconds(600))
        let now = t0 + .seconds(100)
        guard case .serve = lifecycle.tokenRequested(now: now, minValid: .seconds(500)) else {
            Issue.record("500 s of 500 s remaining suffice")
            return
        }
        guard
            case .waitForFetch(startFetch: true) = lifecycle.tokenRequested(
                now: now, minValid: .seconds(501))
        else {
            Issue.record("too little validity left: a refresh must start")
            return
        }
        #expect(lifecycle.inFlightReason == .demand)
        guard case .serve = lifecycle.tokenRequested(now: now) else {
            Issue.record("callers without minValid keep getting the current token")
            return
        }
        guard
            case .waitForFetch(startFetch: false) = lifecycle.tokenRequested(
                now: now, minValid: .seconds(550))
        else {
            Issue.record("a second demanding caller joins the same fetch")
            return
        }
    }

    @Test func forcedRefreshJoinsAFetchInFlightAndBypassesBackoff() {
        var lifecycle = Lifecycle()
        var random = FixedRandom.max
        _ = lifecycle.start(now: t0)
        #expect(lifecycle.refreshForced(now: t0) == .waitForFetch(startFetch: false))
        _ = lifecycle.fetchFailed(category: .unavailable, message: "down", now: t0, using: &random)
        #expect(lifecycle.stateName == .failed)
        #expect(lifecycle.refreshForced(now: t0) == .waitForFetch(startFetch: true))
        #expect(lifecycle.inFlightReason == .forced)
    }

    @Test func idpOutageServesTheCachedTokenUntilExpiryThenFailsFast() {
        var lifecycle = validLifecycle(lifetime: .seconds(120))
        var random = FixedRandom.max  // every retry waits the full ceiling
        var now = t0 + .seconds(60)
        #expect(lifecycle.timerFired(now: now) == .startFetch)
        var failures = 0
        while lifecycle.stateName != .expired {
            if lifecycle.isFetching {
                let action = lifecycle.fetchFailed(
                    category: .unavailable, message: "IdP returned 503", now: now, using: &random)
                guard case .failWaiters(_, let retryAt) = action else {
                    Issue.record("a failure must schedule a retry")
                    return
                }
                failures += 1
                #expect(
                    retryAt == now + lifecycle.policy.backoffCeiling(consecutiveFailures: failures))
            }
            guard let deadline = lifecycle.nextDeadline else {
                Issue.record("a backing-off lifecycle must have a deadline")
                return
            }
            if deadline > now, now < t0 + .seconds(120) {
                // Between deadlines the cached token is served.
                guard
                    case .serve(let held) = lifecycle.tokenRequested(
                        now: deadline - .milliseconds(1))
                else {
                    Issue.record("cached token must be served before expiry")
                    return
                }
                #expect(held.expiresAt > deadline - .milliseconds(1))
            }
            now = deadline
            _ = lifecycle.timerFired(now: now)
        }
        #expect(now == t0 + .seconds(120))
        #expect(failures == 6)  // retries at +1, +2, +4, +8, +16 s fit before expiry, +32 does not
        guard case .unavailable(let retryAfter, let lastError) = lifecycle.tokenRequested(now: now)
        else {
            Issue.record("after expiry while backing off, callers fail fast")
            return
        }
        #expect(retryAfter > .zero)
        #expect(lastError?.message == "IdP returned 503")
        #expect(lifecycle.status(name: "a", now: now).consecutiveFailures == 6)
        #expect(lifecycle.status(name: "a", now: now).expiresIn == nil)
    }

    @Test func recoversOnTheNextBackoffStep() {
        var lifecycle = Lifecycle()
        var random = FixedRandom.max
        _ = lifecycle.start(now: t0)
        _ = lifecycle.fetchFailed(
            category: .unavailable, message: "timeout", now: t0, using: &random)
        #expect(lifecycle.stateName == .failed)
        #expect(lifecycle.nextDeadline == t0 + .seconds(1))
        guard case .unavailable(let retryAfter, _) = lifecycle.tokenRequested(now: t0) else {
            Issue.record("no token yet: fail fast")
            return
        }
        #expect(retryAfter == .seconds(1))
        #expect(lifecycle.timerFired(now: t0 + .seconds(1)) == .startFetch)
        #expect(lifecycle.inFlightReason == .retry)
        let action = lifecycle.fetchSucceeded(
            FetchedToken(value: "tok", expiresIn: nil), now: t0 + .seconds(2), using: &random)
        guard case .resumeWaiters(let held, _) = action else {
            Issue.record("expected recovery")
            return
        }
        #expect(held.expiresAt == t0 + .seconds(1) + lifecycle.policy.defaultLifetime)
        let status = lifecycle.status(name: "a", now: t0 + .seconds(2))
        #expect(status.state == .valid)
        #expect(status.consecutiveFailures == 0)
        #expect(status.lastError?.message == "timeout")  // kept for operators
        #expect(status.lastSuccessAgo == .zero)
    }

    @Test func rejectedCredentialBacksOffSlowlyAndShowsInStatus() {
        var lifecycle = Lifecycle()
        var random = FixedRandom.zero
        _ = lifecycle.start(now: t0)
        let action = lifecycle.fetchFailed(
            category: .credentialRejected, message: "invalid_grant: key revoked", now: t0,
            using: &random)
        guard case .failWaiters(let failure, let retryAt) = action else {
            Issue.record("expected failWaiters")
            return
        }
        #expect(failure.category == .credentialRejected)
        #expect(retryAt == t0 + .seconds(150))
        let status = lifecycle.status(name: "svc", now: t0)
        #expect(status.state == .failed)
        #expect(status.lastError?.category == .credentialRejected)
        #expect(status.nextRefreshIn == .seconds(150))
        #expect(status.consecutiveFailures == 1)
    }

    @Test func tokenExpiredOnArrivalCountsAsAFailure() {
        var lifecycle = Lifecycle()
        var random = FixedRandom.half
        _ = lifecycle.start(now: t0)
        let action = lifecycle.fetchSucceeded(
            FetchedToken(value: "tok", expiresIn: .seconds(5)), now: t0 + .seconds(5),
            using: &random)
        guard case .failWaiters(let failure, _) = action else {
            Issue.record("an already expired token must not be accepted")
            return
        }
        #expect(failure.category == .unavailable)
        #expect(lifecycle.stateName == .failed)
    }

    @Test func staleCompletionsAreIgnored() {
        var lifecycle = validLifecycle(lifetime: .seconds(600))
        var random = FixedRandom.half
        guard
            case .doNothing = lifecycle.fetchSucceeded(
                FetchedToken(value: "other", expiresIn: .seconds(600)), now: t0, using: &random)
        else {
            Issue.record("no fetch in flight: ignore")
            return
        }
        guard
            case .doNothing = lifecycle.fetchFailed(
                category: .unavailable, message: "x", now: t0, using: &random)
        else {
            Issue.record("no fetch in flight: ignore")
            return
        }
        #expect(lifecycle.heldToken?.value == "tok-1")
    }

    @Test func lateTimerAfterSuspendRefetchesInsteadOfServingExpired() {
        var lifecycle = validLifecycle(lifetime: .seconds(600))
        let later = t0 + .seconds(3600)
        guard case .waitForFetch(startFetch: true) = lifecycle.tokenRequested(now: later) else {
            Issue.record("an expired valid-state token must trigger a fetch")
            return
        }
        #expect(lifecycle.stateName == .fetching)
    }
}
