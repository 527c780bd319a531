import Dispatch
import Synchronization
import TokenProxyCore

/// Where the proxy router gets tokens: the daemon's `TokenStore`, or a fake in tests (so that
/// routing can be tested without an IdP).
package protocol ProxyTokenSource: Sendable {
    /// The published token if valid for `minValid` more, without suspending; nil: ask `token`.
    func cachedToken(_ name: String, minValid: Duration?) -> TokenStore.Snapshot?
    /// A valid token, waiting for a fetch (shared with other callers) if needed.
    func token(_ name: String, minValid: Duration?) async throws -> TokenStore.Snapshot
    /// Forces a fetch, joining one already in flight.
    func refresh(_ name: String) async throws -> TokenStore.Snapshot
}

extension TokenStore: ProxyTokenSource {}

/// Why a blocking wait for a token ended without one.
enum ProxyTokenWaitError: Error, CustomStringConvertible {
    case timedOut(Duration)

    var description: String {
        switch self {
        case .timedOut(let limit):
            return "no token within \(limit.components.seconds) s (the IdP is slow or unreachable)"
        }
    }
}

extension ProxyRouter {
    /// Runs `operation` in a task and blocks the calling thread until it finishes or `timeout`
    /// passes. The engine calls the delegate on a connection thread that may block (never on a
    /// Swift concurrency thread, where blocking could starve the task we wait for).
    static func blockingWait<T: Sendable>(
        timeout: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) -> Result<T, any Error> {
        let outcome = BlockingOutcome<T>()
        Task {
            let result: Result<T, any Error>
            do {
                result = .success(try await operation())
            } catch {
                result = .failure(error)
            }
            outcome.result.withLock { $0 = result }
            outcome.done.signal()
        }
        let nanoseconds =
            timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds
            / 1_000_000_000
        if outcome.done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .timedOut {
            // The task is not cancelled: the fetch may be shared with other callers inside the
            // token service, and its token will serve the next request. Only our wait ends.
            return .failure(ProxyTokenWaitError.timedOut(timeout))
        }
        return outcome.result.withLock { $0 } ?? .failure(ProxyTokenWaitError.timedOut(timeout))
    }
}

/// The result slot shared between the waiting thread and the task.
private final class BlockingOutcome<T: Sendable>: Sendable {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
}
