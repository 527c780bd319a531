import Dispatch
import Synchronization

/// A wait for asynchronous work (a token fetch, an introspection) that answers in bounded
/// time: the proxy's parked requests (`ProxyRouter.completeLater`) and the token API's parked
/// token requests (`TokenAPI.laterBounded`) both go through here.
enum BoundedWait {
    /// Runs `operation` in a task and calls `completion` exactly once: with its result, or
    /// with `timedOut` when `timeout` passes first. Nothing blocks: the caller parked its
    /// request and resumes it when `completion` runs.
    ///
    /// The task is not cancelled at the timeout: the fetch may be shared with other callers
    /// inside the token service, and its token will serve the next request.
    static func complete<T: Sendable>(
        timeout: Duration, timedOut: any Error,
        _ operation: @escaping @Sendable () async throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        let once = Once(completion)
        Task {
            do {
                once.call(.success(try await operation()))
            } catch {
                once.call(.failure(error))
            }
        }
        let nanoseconds =
            timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds
            / 1_000_000_000
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) {
            once.call(.failure(timedOut))
        }
    }
}

/// A completion that runs at most once, whichever caller comes first.
final class Once<T: Sendable>: Sendable {
    private let completion: Mutex<(@Sendable (Result<T, any Error>) -> Void)?>

    init(_ completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        self.completion = Mutex(completion)
    }

    func call(_ result: Result<T, any Error>) {
        let body = completion.withLock { stored in
            defer { stored = nil }
            return stored
        }
        body?(result)
    }
}
