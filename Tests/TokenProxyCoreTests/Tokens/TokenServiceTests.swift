import Testing

@testable import TokenProxyCore
import TokenProxyTestSupport

/// The service over a ``ManualClock`` and a ``FetchScript`` IdP: the test decides when time
/// moves and when each fetch ends, and waits for the service's own events instead of sleeping.
@Suite(.timeLimit(.minutes(1)))
struct TokenServiceTests {
    let t0 = ContinuousClock.now
    let clock: ManualClock
    let script = FetchScript()
    let log = EventLog()

    init() { clock = ManualClock(start: t0) }

    func makeService(
        names: [String] = ["a"], policy: RefreshPolicy = RefreshPolicy(),
        random: FixedRandom = .half
    ) -> TokenService<String> {
        TokenService(
            names: names, policy: policy, fetch: script.fetch, clock: clock, random: random,
            onEvent: log.hook)
    }

    func finish(_ service: TokenService<String>) async {
        await service.shutdown()
        await script.drain()
    }

    func waiters(_ service: TokenService<String>, _ name: String = "a") async -> Int {
        await service.statuses().first { $0.name == name }?.waiters ?? 0
    }

    @Test func startReturnsWithoutWaitingForTheIdP() async throws {
        let service = makeService(names: ["a", "b"])
        await service.start()
        await log.waitForStarts(2)
        #expect(await service.statuses().map(\.state) == [.fetching, .fetching])
        #expect(log.events.contains(.fetchStarted(name: "a", reason: .initial)))
        clock.advance(by: .seconds(2))
        await script.succeed("t-1", expiresIn: .seconds(600))
        await script.succeed("t-2", expiresIn: .seconds(600))
        await log.waitForSuccesses(2)
        #expect(
            log.events.contains(
                .fetchSucceeded(
                    name: "a", reason: .initial, latency: .seconds(2), lifetime: .seconds(600)))
        )
        let token = try await service.token("a")
        #expect(token.expiresAt == t0 + .seconds(600))
        await finish(service)
    }

    @Test func twoHundredConcurrentCallersOnAColdStartShareOneFetch() async throws {
        let service = makeService()
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<200 {
                group.addTask { try await service.token("a").value }
            }
            while await waiters(service) < 200 { await Task.yield() }
            await script.succeed("shared", expiresIn: .seconds(600))
            var values: [String] = []
            for try await value in group { values.append(value) }
            #expect(values.count == 200)
            #expect(Set(values) == ["shared"])
        }
        #expect(await script.calls == 1)
        await finish(service)
    }

    @Test func refreshesWhenThePolicySaysSo() async throws {
        let service = makeService()
        await service.start()
        await script.succeed("t-1", expiresIn: .seconds(120))
        await log.waitForSuccesses(1)
        await clock.waitForSleepers(count: 1)
        #expect(clock.nextDeadline == t0 + .seconds(60))
        clock.advance(by: .seconds(60))
        await log.waitForStarts(2)
        #expect(log.events.last == .fetchStarted(name: "a", reason: .scheduled))
        #expect(try await service.token("a").value == "t-1")  // served during the refresh
        await script.succeed("t-2", expiresIn: .seconds(120))
        await log.waitForSuccesses(2)
        let token = try await service.token("a")
        #expect(token.value == "t-2")
        #expect(token.expiresAt == t0 + .seconds(180))
        await finish(service)
    }

    @Test func outageServesTheCachedTokenThenFailsFastThenRecovers() async throws {
        let policy = RefreshPolicy(backoffInitial: .seconds(100), backoffMax: .seconds(300))
        let service = makeService(policy: policy, random: .max)
        await service.start()
        await script.succeed("t-1", expiresIn: .seconds(120))
        await log.waitForSuccesses(1)
        clock.advance(to: t0 + .seconds(60))
        await log.waitForStarts(2)
        await script.fail(TestFetchError(category: .unavailable, message: "IdP answered 503"))
        await log.waitForFailures(1)
        #expect(try await service.token("a").value == "t-1")
        var status = try #require(await service.statuses().first)
        #expect(status.state == .failed)
        #expect(status.consecutiveFailures == 1)
        #expect(status.lastError?.message == "IdP answered 503")
        #expect(status.nextRefreshIn == .seconds(100))

        clock.advance(to: t0 + .seconds(120))
        await log.wait { $0 == .tokenExpired(name: "a") }
        await #expect(
            throws: TokenServiceError.unavailable(
                name: "a", category: .unavailable, message: "IdP answered 503",
                retryAfter: .seconds(40))
        ) { try await service.token("a") }
        #expect(await service.statuses().first?.state == .expired)

        clock.advance(to: t0 + .seconds(160))
        await log.waitForStarts(3)
        #expect(log.events.last == .fetchStarted(name: "a", reason: .retry))
        await script.succeed("t-2", expiresIn: .seconds(120))
        await log.waitForSuccesses(2)
        #expect(try await service.token("a").value == "t-2")
        status = try #require(await service.statuses().first)
        #expect(status.state == .valid)
        #expect(status.consecutiveFailures == 0)
        await finish(service)
    }

    @Test func rejectedCredentialFailsCallersAndBacksOffSlowly() async throws {
        let service = makeService()
        let caller = Task { try await service.token("a") }
        await script.fail(TestFetchError(category: .credentialRejected, message: "invalid_grant"))
        await #expect(throws: TokenServiceError.self) { try await caller.value }
        let status = try #require(await service.statuses().first)
        #expect(status.lastError?.category == .credentialRejected)
        let retryIn = try #require(status.nextRefreshIn)
        #expect(retryIn >= .seconds(150) && retryIn <= .seconds(300))  // the slow schedule
        await finish(service)
    }

    @Test func minValidForcesARefreshTheCallerWaitsFor() async throws {
        let service = makeService()
        await service.start()
        await script.succeed("t-1", expiresIn: .seconds(600))
        await log.waitForSuccesses(1)
        clock.advance(by: .seconds(200))
        let caller = Task { try await service.token("a", minValid: .seconds(500)) }
        await log.waitForStarts(2)
        #expect(log.events.last == .fetchStarted(name: "a", reason: .demand))
        #expect(try await service.token("a").value == "t-1")
        await script.succeed("t-2", expiresIn: .seconds(600))
        #expect(try await caller.value.value == "t-2")
        #expect(await script.calls == 2)
        await finish(service)
    }

    @Test func forcedRefreshJoinsTheFetchInFlight() async throws {
        let service = makeService()
        await service.start()
        let forced = Task { try await service.refresh("a") }
        let asked = Task { try await service.token("a") }
        while await waiters(service) < 2 { await Task.yield() }
        await script.succeed("t-1", expiresIn: .seconds(600))
        #expect(try await forced.value.value == "t-1")
        #expect(try await asked.value.value == "t-1")
        #expect(await script.calls == 1)

        let again = Task { try await service.refresh("a") }
        await script.succeed("t-2", expiresIn: .seconds(600))
        #expect(try await again.value.value == "t-2")
        #expect(log.events.contains(.fetchStarted(name: "a", reason: .forced)))
        await finish(service)
    }

    @Test func unknownCredentialIsADistinctError() async {
        let service = makeService(names: ["b", "a"])
        await #expect(throws: TokenServiceError.unknownCredential(name: "nope", known: ["a", "b"]))
        {
            try await service.token("nope")
        }
        await #expect(throws: TokenServiceError.unknownCredential(name: "nope", known: ["a", "b"]))
        {
            try await service.refresh("nope")
        }
        await finish(service)
    }

    @Test func unclassifiedErrorsAreReportedByTypeOnly() async throws {
        struct LeakyError: Error, CustomStringConvertible {
            var description: String { "assertion eyJhbGciOi..." }
        }
        let service = makeService()
        let caller = Task { try await service.token("a") }
        await script.fail(LeakyError())
        do {
            _ = try await caller.value
            Issue.record("expected a failure")
        } catch let error as TokenServiceError {
            #expect(!error.description.contains("eyJ"))
            #expect(error.description.contains("LeakyError"))
        }
        await finish(service)
    }

    @Test func shutdownFailsWaitingCallers() async throws {
        let service = makeService()
        let caller = Task { try await service.token("a") }
        while await waiters(service) < 1 { await Task.yield() }
        await service.shutdown()
        await #expect(throws: TokenServiceError.shutDown) { try await caller.value }
        await #expect(throws: TokenServiceError.shutDown) { try await service.token("a") }
        await script.drain()
    }

    @Test func cancelledCallerStopsWaitingWithoutCancellingTheFetch() async throws {
        let service = makeService()
        let caller = Task { try await service.token("a") }
        while await waiters(service) < 1 { await Task.yield() }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(await waiters(service) == 0)
        #expect(await service.statuses().first?.fetchInFlight == true)
        await finish(service)
    }

    @Test func servedTokensStayUnexpiredOverManyShortLifetimes() async throws {
        let fetcher = InstantFetcher(lifetime: .seconds(4))
        let service = TokenService(
            names: ["a"], fetch: fetcher.fetch, clock: clock, random: SeededRandom(seed: 7))
        await service.start()
        for _ in 0..<200 {
            clock.advance(by: .milliseconds(500))
            let token = try await service.token("a", minValid: .milliseconds(500))
            #expect(token.expiresAt - clock.now >= .milliseconds(500))
        }
        #expect(fetcher.calls >= 25)  // 100 s of 4 s tokens
        await service.shutdown()
    }
}
