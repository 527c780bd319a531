import Synchronization
import Testing

@testable import TokenProxy

/// `BoundedWait` answers exactly once: with the work's result when it is in time, with the
/// timeout error when it is not (and the late result is dropped).
@Suite(.timeLimit(.minutes(1)))
struct BoundedWaitTests {
    private struct Late: Error {}

    /// Waits for `BoundedWait.complete` to answer, counting its calls for `settle` longer.
    private func outcome(
        timeout: Duration, settle: Duration, _ work: @escaping @Sendable () async throws -> Int
    ) async -> (results: [Result<Int, any Error>], calls: Int) {
        let calls = Mutex<[Result<Int, any Error>]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            BoundedWait.complete(timeout: timeout, timedOut: Late(), work) { result in
                let first = calls.withLock {
                    $0.append(result)
                    return $0.count == 1
                }
                if first { done.resume() }
            }
        }
        try? await Task.sleep(for: settle)
        let results = calls.withLock { $0 }
        return (results, results.count)
    }

    @Test func answersWithTheResultWhenTheWorkIsInTime() async throws {
        let (results, calls) = await outcome(timeout: .seconds(5), settle: .milliseconds(50)) { 42 }
        #expect(calls == 1)
        #expect(try results[0].get() == 42)
    }

    @Test func answersWithTheTimeoutWhenTheWorkIsLateAndDropsTheLateResult() async {
        let started = ContinuousClock.now
        let (results, calls) = await outcome(timeout: .milliseconds(50), settle: .milliseconds(600))
        {
            try await Task.sleep(for: .milliseconds(300))
            return 42
        }
        #expect(calls == 1)
        #expect(ContinuousClock.now - started < .seconds(5))
        guard case .failure(let error) = results[0] else {
            Issue.record("expected the timeout, got \(results[0])")
            return
        }
        #expect(error is Late)
    }

    @Test func passesTheWorksOwnErrorThrough() async {
        struct Refused: Error {}
        let (results, calls) = await outcome(timeout: .seconds(5), settle: .milliseconds(50)) {
            throw Refused()
        }
        #expect(calls == 1)
        guard case .failure(let error) = results[0] else {
            Issue.record("expected the work's error")
            return
        }
        #expect(error is Refused)
    }
}
