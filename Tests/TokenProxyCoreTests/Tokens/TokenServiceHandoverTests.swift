import Testing
import TokenProxyTestSupport

@testable import TokenProxyCore

/// A reload hands tokens from one service to the next (``TokenHandover``), and an IdP's
/// `Retry-After` holds back the next attempt.
@Suite(.timeLimit(.minutes(1)))
struct TokenServiceHandoverTests {
    let t0 = ContinuousClock.now
    let clock: ManualClock
    let script = FetchScript()
    let log = EventLog()

    init() { clock = ManualClock(start: t0) }

    func makeService(
        _ names: [String], adopting: [String: TokenHandover<String>] = [:], log: EventLog
    ) -> TokenService<String> {
        TokenService(
            policies: Dictionary(uniqueKeysWithValues: names.map { ($0, RefreshPolicy()) }),
            adopting: adopting, fetch: script.fetch, clock: clock, random: FixedRandom.half,
            onEvent: log.hook)
    }

    @Test func anAdoptedTokenIsServedAtOnceAndKeepsItsSchedule() async throws {
        let old = makeService(["a", "b"], log: log)
        await old.start()
        await script.succeed("a-1", expiresIn: .seconds(600))
        await script.succeed("b-1", expiresIn: .seconds(600))
        await log.waitForSuccesses(2)
        let handover = await old.handover()
        #expect(handover.keys.sorted() == ["a", "b"])
        #expect(handover["a"]?.refreshAt == t0 + .seconds(300))

        // "a" kept as is, "b" re-fetched in the background, "c" new.
        let newLog = EventLog()
        let next = makeService(
            ["a", "b", "c"],
            adopting: ["a": handover["a"]!, "b": handover["b"]!.refreshingAt(clock.now)],
            log: newLog)
        await old.retire()
        await next.start()
        // The adopted snapshots are the very same objects: readers see no change.
        #expect(next.cachedToken("a") === old.cachedToken("a"))
        #expect(next.cachedToken("a")?.value == "a-1")
        #expect(next.cachedToken("b")?.value == "b-1")
        #expect(next.cachedToken("c") == nil)
        await newLog.waitForStarts(2)
        let started = newLog.events.compactMap { event -> String? in
            if case .fetchStarted(let name, _) = event { return name }
            return nil
        }
        #expect(started.sorted() == ["b", "c"])
        #expect(try await next.token("b").value == "b-1")  // still served while refreshing
        // The script hands out values in the order the fetches parked, which is either. They
        // live 20 minutes, so "b" and "c" refresh at t0 + 10 min, not at t0 + 5 min with "a":
        // three fetches due at once made the count below depend on which parked first (it
        // failed under AddressSanitizer's slower scheduling).
        await script.succeed("new-1", expiresIn: .seconds(1200))
        await script.succeed("new-2", expiresIn: .seconds(1200))
        await newLog.waitForSuccesses(2)
        let fresh = [try await next.token("b").value, try await next.token("c").value]
        #expect(fresh.sorted() == ["new-1", "new-2"])
        // "a" refreshes on the old schedule, from the new service only.
        clock.advance(by: .seconds(300))
        await newLog.waitForStarts(3)
        await script.waitForCall()
        #expect(await script.calls == 5)
        await next.shutdown()
        await old.shutdown()
        await script.drain()
    }

    @Test func aRetiredServiceAnswersItsParkedCallersThenShutsDown() async throws {
        let old = makeService(["a"], log: log)
        await old.start()
        let waiting = Task { try await old.token("a").value }
        await script.waitForCall()
        while await old.statuses().first?.waiters != 1 { await Task.yield() }
        await old.retire()
        let done = Task { await old.shutdownWhenIdle(maximumWait: .seconds(30)) }
        await script.succeed("a-1", expiresIn: .seconds(600))
        #expect(try await waiting.value == "a-1")
        while clock.sleeperCount == 0 {
            if await old.statuses().first?.waiters == 0 { break }
            await Task.yield()
        }
        clock.advance(by: Limits.Reload.idlePollInterval)
        await done.value
        await #expect(throws: TokenServiceError.self) { try await old.token("a") }
        await script.drain()
    }

    @Test func retryAfterHoldsBackTheNextAttempt() {
        var lifecycle = TokenLifecycle<String>()
        var random = FixedRandom.zero
        _ = lifecycle.start(now: t0)
        let action = lifecycle.fetchFailed(
            category: .unavailable, message: "429", now: t0, retryAfter: .seconds(20),
            using: &random)
        guard case .failWaiters(_, let retryAt) = action else {
            Issue.record("expected failWaiters")
            return
        }
        #expect(retryAt == t0 + .seconds(20))  // the backoff alone would retry at once
        _ = lifecycle.timerFired(now: retryAt)
        let capped = lifecycle.fetchFailed(
            category: .unavailable, message: "503", now: t0, retryAfter: .seconds(86_400),
            using: &random)
        guard case .failWaiters(_, let cappedAt) = capped else {
            Issue.record("expected failWaiters")
            return
        }
        #expect(cappedAt == t0 + Limits.IdP.maxRetryAfter)
    }

    @Test func requestRejectedUsesTheSlowSchedule() {
        let policy = RefreshPolicy()
        for failures in 1...5 {
            let delay = policy.retryDelay(
                consecutiveFailures: failures, category: .requestRejected, unit: 0)
            #expect(delay == policy.backoffMax / 2)
        }
    }
}
