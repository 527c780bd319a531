/// The lifecycle state names shown to operators (`/v1/tokens`, `tokenproxy status`).
package enum CredentialState: String, Sendable, Equatable, CaseIterable {
    case empty, fetching, valid, refreshing, failed, expired
}

/// A snapshot of one credential for the status API. Times are durations relative to the
/// snapshot (the monotonic clock has no calendar meaning); the API layer turns them into
/// wall-clock times if it wants to. Contains no token.
package struct CredentialStatus: Sendable, Equatable {
    /// The credential's configured name.
    package var name: String
    /// The lifecycle state.
    package var state: CredentialState
    /// Time until the served token expires; `nil` when no usable token is held.
    package var expiresIn: Duration?
    /// The most recent failure (category and safe message), kept after recovery.
    package var lastError: TokenFetchFailure?
    /// How long ago the most recent failure happened.
    package var lastErrorAgo: Duration?
    /// Failures since the last success.
    package var consecutiveFailures: Int
    /// How long ago the last successful fetch completed; `nil` if none ever did.
    package var lastSuccessAgo: Duration?
    /// Time until the next planned refresh or retry (negative when overdue); `nil` while a
    /// fetch is in flight or before start.
    package var nextRefreshIn: Duration?
    /// Whether a fetch is in flight.
    package var fetchInFlight: Bool
    /// Callers parked until the fetch in flight completes.
    package var waiters: Int

    /// Seconds until expiry, for JSON output.
    package var secondsToExpiry: Double? { expiresIn.map(\.fractionalSeconds) }
}

extension TokenLifecycle {
    /// A status snapshot at `now` for the credential called `name` with `waiters` parked callers.
    package func status(name: String, now: ContinuousClock.Instant, waiters: Int = 0)
        -> CredentialStatus
    {
        CredentialStatus(
            name: name,
            state: stateName,
            expiresIn: usableToken(at: now).map { $0.expiresAt - now },
            lastError: lastFailure,
            lastErrorAgo: lastFailure.map { now - $0.at },
            consecutiveFailures: consecutiveFailures,
            lastSuccessAgo: lastSuccessAt.map { now - $0 },
            nextRefreshIn: nextFetchAt.map { $0 - now },
            fetchInFlight: isFetching,
            waiters: waiters)
    }
}

extension Duration {
    fileprivate var fractionalSeconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
