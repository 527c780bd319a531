import Synchronization
import TokenProxyNet

@testable import TokenProxy

extension TokenAPI {
    /// The response `handle` delivers for `request`, awaited in a test.
    ///
    /// The response travels through a `Mutex`, not as the continuation's value: when the reply
    /// comes on another thread before the awaiting task has suspended, the hand-off is done by the
    /// concurrency runtime's own atomics, which ThreadSanitizer does not see, and it then reports
    /// the response's storage, written by the replying thread, as a race with the test's reads
    /// (swiftlang/swift#57803; seen here once in `readyWithNoCredentialsAndMetricsRender`). The
    /// Mutex is annotated for TSan (`Tests/sanitizers/mutex-tsan-annotations.c`), so the writes
    /// are ordered before the reads. A second reply is ignored (the first one counts).
    func testResponse(to request: HTTPServerRequest) async -> HTTPServerResponse {
        let delivered = Mutex<HTTPServerResponse?>(nil)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            handle(request) { response in
                let first = delivered.withLock { slot in
                    guard slot == nil else { return false }
                    slot = response
                    return true
                }
                if first { continuation.resume() }
            }
        }
        return delivered.withLock { $0! }
    }
}
