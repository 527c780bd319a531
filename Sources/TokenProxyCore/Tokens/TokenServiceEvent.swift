/// Why a fetch was started; a metrics label (`reason`).
package enum TokenFetchReason: String, Sendable, Equatable, CaseIterable {
    /// The first fetch after start (or the first request before start).
    case initial
    /// The refresh schedule came due.
    case scheduled
    /// A retry after a failure.
    case retry
    /// A caller needed more validity (`minValid`) than the held token had left.
    case demand
    /// An explicit refresh request.
    case forced
}

/// Something the daemon may count or log. Delivered synchronously from inside the service, so
/// the hook must be quick and must not call back into the service. Never carries a token.
package enum TokenServiceEvent: Sendable, Equatable {
    /// A fetch for credential `name` started.
    case fetchStarted(name: String, reason: TokenFetchReason)
    /// A fetch succeeded after `latency`; the new token lives for `lifetime`.
    case fetchSucceeded(
        name: String, reason: TokenFetchReason, latency: Duration, lifetime: Duration)
    /// A fetch failed after `latency`; the next attempt is in `retryIn`. `message` is the
    /// operator-safe description (never a secret), logged as a field of the one failure line.
    case fetchFailed(
        name: String, reason: TokenFetchReason, category: TokenFetchFailureCategory,
        latency: Duration, retryIn: Duration, message: String)
    /// The held token expired before a replacement arrived: callers now wait or fail.
    case tokenExpired(name: String)

    /// The credential the event is about.
    package var name: String {
        switch self {
        case .fetchStarted(let name, _), .fetchSucceeded(let name, _, _, _),
            .fetchFailed(let name, _, _, _, _, _), .tokenExpired(let name):
            name
        }
    }
}
