/// The refresh state machine of one credential: a plain value with no clock, no tasks and no
/// randomness of its own. Every event takes `now`; events that schedule take a random number
/// generator; each returns an action the owner (``TokenService``) carries out. The owner arms a
/// timer for ``nextDeadline`` and calls `timerFired(now:)` when it passes.
///
/// States (see ``State``): empty → fetching → valid → refreshing → valid …; a failed fetch
/// leads to failed (backing off, maybe still holding a usable token) and, once that token runs
/// out, to expired. Guarantees, enforced here and nowhere else:
/// - a token is never served at or after its expiry, nor with less than a caller's `minValid`;
/// - at most one fetch is in flight: requests and forced refreshes during a fetch join it.
package struct TokenLifecycle<Token: Sendable>: Sendable {
    /// Where the credential stands. Instants are on the monotonic `ContinuousClock` timeline.
    package enum State: Sendable {
        /// Not started; nothing fetched yet.
        case empty
        /// A fetch is in flight and no usable token is held.
        case fetching(since: ContinuousClock.Instant)
        /// A usable token is held; the next refresh is due at `refreshAt`.
        case valid(HeldToken<Token>, refreshAt: ContinuousClock.Instant)
        /// A fetch is in flight while a token (usable until its expiry) is still served.
        case refreshing(HeldToken<Token>, since: ContinuousClock.Instant)
        /// The last fetch failed; retry at `retryAt`. The token, if any, is still usable. A `nil`
        /// token means no token was ever obtained.
        case failed(HeldToken<Token>?, retryAt: ContinuousClock.Instant)
        /// The last fetch failed and the token obtained earlier has expired; retry at `retryAt`.
        case expired(retryAt: ContinuousClock.Instant)
    }

    /// The schedule this credential follows.
    package let policy: RefreshPolicy
    /// The current state.
    package internal(set) var state: State = .empty
    /// Why the fetch in flight was started; `nil` when none is in flight.
    package internal(set) var inFlightReason: TokenFetchReason?
    /// The most recent failure; kept after a later success so operators can see what happened.
    package internal(set) var lastFailure: TokenFetchFailure?
    /// Failures since the last success.
    package internal(set) var consecutiveFailures = 0
    /// When the last successful fetch completed.
    package internal(set) var lastSuccessAt: ContinuousClock.Instant?

    /// A lifecycle in the empty state.
    package init(policy: RefreshPolicy = RefreshPolicy()) {
        self.policy = policy
    }

    /// The state's name as shown in status output.
    package var stateName: CredentialState {
        switch state {
        case .empty: .empty
        case .fetching: .fetching
        case .valid: .valid
        case .refreshing: .refreshing
        case .failed: .failed
        case .expired: .expired
        }
    }

    /// The held token, whether or not it is still usable.
    package var heldToken: HeldToken<Token>? {
        switch state {
        case .valid(let held, _), .refreshing(let held, _): held
        case .failed(let held, _): held
        case .empty, .fetching, .expired: nil
        }
    }

    /// The token that may be served at `now` (ignoring any caller's `minValid`).
    package func usableToken(at now: ContinuousClock.Instant) -> HeldToken<Token>? {
        guard let held = heldToken, held.isUsable(at: now) else { return nil }
        return held
    }

    /// Whether a fetch is in flight.
    package var isFetching: Bool {
        switch state {
        case .fetching, .refreshing: true
        case .empty, .valid, .failed, .expired: false
        }
    }

    /// When `timerFired(now:)` must be called next; `nil` when no timer is needed (nothing
    /// started, or only a fetch in flight with no token to watch).
    package var nextDeadline: ContinuousClock.Instant? {
        switch state {
        case .empty, .fetching: nil
        case .valid(_, let refreshAt): refreshAt
        case .refreshing(let held, _): held.expiresAt
        case .failed(let held, let retryAt): held.map { min($0.expiresAt, retryAt) } ?? retryAt
        case .expired(let retryAt): retryAt
        }
    }

    /// When the next fetch is planned (refresh or retry); `nil` while one is in flight.
    package var nextFetchAt: ContinuousClock.Instant? {
        switch state {
        case .empty, .fetching, .refreshing: nil
        case .valid(_, let refreshAt): refreshAt
        case .failed(_, let retryAt), .expired(let retryAt): retryAt
        }
    }

    /// Starts a fetch: keeps serving a still-usable token while it runs.
    mutating func beginFetch(now: ContinuousClock.Instant, reason: TokenFetchReason) {
        precondition(!isFetching, "TokenLifecycle: a second fetch must never start")
        if let held = usableToken(at: now) {
            state = .refreshing(held, since: now)
        } else {
            state = .fetching(since: now)
        }
        inFlightReason = reason
    }

    /// The state to back off in when no usable token is left.
    func backoffWithoutToken(retryAt: ContinuousClock.Instant) -> State {
        lastSuccessAt == nil ? .failed(nil, retryAt: retryAt) : .expired(retryAt: retryAt)
    }
}
