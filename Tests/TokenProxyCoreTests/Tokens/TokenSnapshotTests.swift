import Foundation
import Synchronization
import Testing
import TokenProxyTestSupport

@testable import TokenProxyCore

/// The service's published snapshots, the one token cache: only tokens the lifecycle
/// accepted appear, they are replaced on refresh and cleared on expiry, and
/// readers on other threads take them without awaiting.
@Suite(.timeLimit(.minutes(1)))
struct TokenSnapshotTests {
    let t0 = ContinuousClock.now
    let clock: ManualClock
    let script = FetchScript()
    let log = EventLog()

    init() { clock = ManualClock(start: t0, unixStart: 1_800_000_000) }

    func makeService(policy: RefreshPolicy = RefreshPolicy()) -> TokenService<String> {
        TokenService(
            names: ["a"], policy: policy, fetch: script.fetch, clock: clock,
            random: FixedRandom.half,
            onEvent: log.hook)
    }

    func finish(_ service: TokenService<String>) async {
        await service.shutdown()
        await script.drain()
    }

    @Test func nothingIsPublishedBeforeTheFirstToken() async {
        let service = makeService()
        await service.start()
        await log.waitForStarts(1)
        #expect(service.snapshots.current("a") == nil)
        #expect(service.cachedToken("a") == nil)
        #expect(service.cachedToken("unknown") == nil)
        await finish(service)
    }

    @Test func anAcceptedTokenIsPublishedBeforeWaitersResume() async throws {
        let service = makeService()
        let caller = Task { try await service.token("a") }
        await script.succeed("t-1", expiresIn: .seconds(600))
        let served = try await caller.value
        let cached = try #require(service.cachedToken("a"))
        #expect(cached === served)
        #expect(cached.value == "t-1")
        #expect(cached.expiresAt == t0 + .seconds(600))
        #expect(cached.lifetime == .seconds(600))
        #expect(cached.expiresAtUnix == 1_800_000_600)
        #expect(service.cachedToken("a", minValid: .seconds(599)) === served)
        #expect(service.cachedToken("a", minValid: .seconds(601)) == nil)
        await finish(service)
    }

    @Test func aTokenExpiredOnArrivalIsNeverPublished() async throws {
        let service = makeService()
        await service.start()
        await script.waitForCall()
        clock.advance(by: .seconds(30))  // the fetch takes longer than the token lives
        await script.succeed("stale", expiresIn: .seconds(10))
        await log.waitForFailures(1)
        #expect(service.snapshots.current("a") == nil)
        #expect(service.cachedToken("a") == nil)
        await finish(service)
    }

    @Test func aTokenExpiredOnArrivalDuringARefreshKeepsTheOldOnePublished() async throws {
        let service = makeService()
        await service.start()
        await script.succeed("t-1", expiresIn: .seconds(600))
        await log.waitForSuccesses(1)
        let first = try #require(service.cachedToken("a"))
        let refresh = Task { try await service.refresh("a") }
        await script.waitForCall()
        clock.advance(by: .seconds(30))
        await script.succeed("stale", expiresIn: .seconds(10))
        await #expect(throws: TokenServiceError.self) { try await refresh.value }
        #expect(service.cachedToken("a") === first)
        #expect(service.snapshots.current("a")?.value == "t-1")
        await finish(service)
    }

    @Test func aRefreshReplacesTheSnapshotAndAnExpiryClearsIt() async throws {
        let service = makeService()
        await service.start()
        await script.succeed("t-1", expiresIn: .seconds(120))
        await log.waitForSuccesses(1)
        let first = try #require(service.cachedToken("a"))
        clock.advance(by: .seconds(60))  // the scheduled refresh starts; t-1 is still served
        await log.waitForStarts(2)
        #expect(try await service.token("a") === first)
        #expect(service.cachedToken("a") === first)
        await script.succeed("t-2", expiresIn: .seconds(120))
        await log.waitForSuccesses(2)
        let second = try #require(service.cachedToken("a"))
        #expect(second.value == "t-2")
        #expect(second.expiresAtUnix == 1_800_000_180)

        clock.advance(to: t0 + .seconds(120))  // the next refresh starts and hangs
        await log.waitForStarts(3)
        clock.advance(to: t0 + .seconds(180))
        #expect(service.cachedToken("a") == nil)  // expired: readers check the time themselves
        await log.wait { $0 == .tokenExpired(name: "a") }
        #expect(service.snapshots.current("a") == nil)
        await finish(service)
    }

    @Test func afterShutdownThePublishedTokenIsServedUntilItExpires() async throws {
        let service = makeService()
        await service.start()
        await script.succeed("t-1", expiresIn: .seconds(600))
        await log.waitForSuccesses(1)
        await finish(service)
        #expect(service.cachedToken("a")?.value == "t-1")
        await #expect(throws: TokenServiceError.shutDown) { try await service.token("a") }
        clock.advance(by: .seconds(600))
        #expect(service.cachedToken("a") == nil)
    }

    @Test func theOwnerChoosesTheLockOfEachSlot() async throws {
        let made = Mutex(0)
        let service = TokenService(
            policies: ["a": RefreshPolicy(), "b": RefreshPolicy()], fetch: script.fetch,
            clock: clock,
            makeSnapshotSlot: { _, initial in
                made.withLock { $0 += 1 }
                return MutexBox(initial)
            })
        #expect(made.withLock { $0 } == 2)
        let caller = Task { try await service.token("b") }
        await script.succeed("t-b", expiresIn: .seconds(60))
        #expect(try await caller.value === service.cachedToken("b"))
        #expect(service.cachedToken("a") == nil)
        await finish(service)
    }

    /// Reader threads (not tasks: event loops are plain threads) take snapshots while the
    /// service replaces the token over and over: every read is a whole token that was
    /// accepted, and no reader ever sees an older token after a newer one.
    @Test func concurrentReadersSeeWholeTokensInOrder() async throws {
        let fetcher = InstantFetcher(lifetime: .seconds(3600))
        let service = TokenService(names: ["a"], fetch: fetcher.fetch, clock: clock)
        _ = try await service.token("a")
        let stop = Atomic(false)
        let readers = (0..<4).map { _ in
            ReaderThread {
                var newest = 0
                var reads = 0
                while !stop.load(ordering: .relaxed) || reads == 0 {
                    guard let snapshot = service.cachedToken("a") else { return -1 }
                    guard let number = Int(snapshot.value.dropFirst("tok-".count)),
                        number >= newest, snapshot.lifetime == .seconds(3600)
                    else { return -1 }
                    newest = number
                    reads += 1
                }
                return newest
            }
        }
        for _ in 0..<200 { _ = try await service.refresh("a") }
        stop.store(true, ordering: .relaxed)
        for reader in readers {
            let newest = await reader.result()
            #expect(newest >= 1 && newest <= 201)
        }
        #expect(service.cachedToken("a")?.value == "tok-201")
        await service.shutdown()
    }
}

/// Runs `body` on a thread of its own and hands its result to an awaiting task.
private final class ReaderThread: Sendable {
    private let outcome = Mutex<(value: Int?, waiter: CheckedContinuation<Int, Never>?)>(
        (nil, nil))

    init(_ body: @escaping @Sendable () -> Int) {
        let thread = Thread { [self] in
            let value = body()
            let waiter = outcome.withLock { state in
                state.value = value
                return state.waiter
            }
            waiter?.resume(returning: value)
        }
        thread.start()
    }

    func result() async -> Int {
        await withCheckedContinuation { continuation in
            let value = outcome.withLock { state in
                if state.value == nil { state.waiter = continuation }
                return state.value
            }
            if let value { continuation.resume(returning: value) }
        }
    }
}
