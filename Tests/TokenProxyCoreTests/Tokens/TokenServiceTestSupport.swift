import Synchronization
import Testing

@testable import TokenProxyCore

/// A generator that always returns the same word: `.zero` makes every uniform draw 0, `.max`
/// makes it 1 and `.half` makes it 0.5, for testing the extremes of jitter and backoff.
struct FixedRandom: RandomNumberGenerator, Sendable {
    static let zero = FixedRandom(word: 0)
    static let half = FixedRandom(word: 1 << 63)  // 0.5 plus one part in 2^53
    static let max = FixedRandom(word: .max)

    var word: UInt64
    mutating func next() -> UInt64 { word }
}

/// SplitMix64: a tiny seeded generator so "random" runs are reproducible.
struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A classified fetch error as the OAuth client would throw it.
struct TestFetchError: TokenFetchError {
    var category: TokenFetchFailureCategory
    var message: String
}

/// An IdP under the test's control: every fetch parks until the test completes it, so the
/// test decides exactly when and how each fetch ends. Counts calls.
actor FetchScript {
    private var pending: [CheckedContinuation<FetchedToken<String>, any Error>] = []
    private var callWaiters: [CheckedContinuation<Void, Never>] = []
    private(set) var calls = 0

    nonisolated var fetch: TokenService<String>.Fetch {
        { _ in try await self.fetchParked() }
    }

    private func fetchParked() async throws -> FetchedToken<String> {
        calls += 1
        return try await withCheckedThrowingContinuation { continuation in
            pending.append(continuation)
            let waiters = callWaiters
            callWaiters = []
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Waits until a fetch is parked.
    func waitForCall() async {
        if !pending.isEmpty { return }
        await withCheckedContinuation { callWaiters.append($0) }
    }

    /// Completes the oldest parked fetch (waiting for one first) with a token.
    func succeed(_ value: String, expiresIn: Duration?) async {
        await waitForCall()
        pending.removeFirst().resume(returning: FetchedToken(value: value, expiresIn: expiresIn))
    }

    /// Completes the oldest parked fetch (waiting for one first) with an error.
    func fail(_ error: any Error) async {
        await waitForCall()
        pending.removeFirst().resume(throwing: error)
    }

    /// Fails whatever is still parked, so no continuation leaks at the end of a test.
    func drain() {
        let parked = pending
        pending = []
        for continuation in parked { continuation.resume(throwing: CancellationError()) }
    }
}

/// Records service events synchronously (in order) and lets a test wait for them.
final class EventLog: Sendable {
    private struct Watcher {
        var count: Int
        var matches: @Sendable (TokenServiceEvent) -> Bool
        var continuation: CheckedContinuation<Void, Never>
    }

    private let state = Mutex<(events: [TokenServiceEvent], watchers: [Watcher])>(([], []))

    var events: [TokenServiceEvent] { state.withLock { $0.events } }

    var hook: TokenService<String>.EventHook { { self.record($0) } }

    func record(_ event: TokenServiceEvent) {
        let ready = state.withLock { state in
            state.events.append(event)
            let events = state.events
            let (done, waiting) = split(state.watchers) { watcher in
                events.filter(watcher.matches).count >= watcher.count
            }
            state.watchers = waiting
            return done
        }
        for watcher in ready { watcher.continuation.resume() }
    }

    /// Returns once at least `count` events matching `matches` have been recorded in total.
    func wait(count: Int = 1, for matches: @escaping @Sendable (TokenServiceEvent) -> Bool) async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if state.events.filter(matches).count >= count { return true }
                state.watchers.append(
                    Watcher(count: count, matches: matches, continuation: continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    func waitForSuccesses(_ count: Int) async {
        await wait(count: count) { if case .fetchSucceeded = $0 { true } else { false } }
    }

    func waitForFailures(_ count: Int) async {
        await wait(count: count) { if case .fetchFailed = $0 { true } else { false } }
    }

    func waitForStarts(_ count: Int) async {
        await wait(count: count) { if case .fetchStarted = $0 { true } else { false } }
    }

    private func split(_ watchers: [Watcher], by isDone: (Watcher) -> Bool) -> (
        [Watcher], [Watcher]
    ) {
        (watchers.filter(isDone), watchers.filter { !isDone($0) })
    }
}

/// An IdP that answers at once with numbered tokens of a fixed lifetime.
final class InstantFetcher: Sendable {
    private let count = Mutex(0)
    let lifetime: Duration

    init(lifetime: Duration) { self.lifetime = lifetime }

    var calls: Int { count.withLock { $0 } }

    var fetch: TokenService<String>.Fetch {
        { _ in
            let number = self.count.withLock { count in
                count += 1
                return count
            }
            return FetchedToken(value: "tok-\(number)", expiresIn: self.lifetime)
        }
    }
}
