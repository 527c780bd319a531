extension TokenLifecycle {
    /// What to do after `start(now:)`.
    package enum StartAction: Sendable, Equatable {
        /// Run the fetcher, then report `fetchSucceeded` or `fetchFailed`.
        case startFetch
        /// Already started.
        case doNothing
    }

    /// What to do with a caller that asked for a token.
    package enum TokenRequestedAction: Sendable {
        /// Hand out this token: it is unexpired and meets the caller's `minValid`.
        case serve(HeldToken<Token>)
        /// Park the caller until the fetch completes; start that fetch first if `startFetch`.
        case waitForFetch(startFetch: Bool)
        /// No usable token and backing off: fail the caller, telling it when the next attempt is.
        case unavailable(retryAfter: Duration, lastError: TokenFetchFailure?)
    }

    /// What to do after a successful fetch.
    package enum FetchSucceededAction: Sendable {
        /// Hand the new token to every parked caller; the next refresh is due at `refreshAt`.
        case resumeWaiters(HeldToken<Token>, refreshAt: ContinuousClock.Instant)
        /// The IdP's token was already expired on arrival: handled as a failed fetch.
        case failWaiters(TokenFetchFailure, retryAt: ContinuousClock.Instant)
        /// No fetch was in flight (a stale completion): ignore it.
        case doNothing
    }

    /// What to do after a failed fetch.
    package enum FetchFailedAction: Sendable {
        /// Fail every parked caller with `failure` (they were waiting because no token, or none
        /// long-lived enough, was held); the next attempt is at `retryAt`. A still-usable token
        /// keeps being served to callers without a larger `minValid`.
        case failWaiters(TokenFetchFailure, retryAt: ContinuousClock.Instant)
        /// No fetch was in flight (a stale completion): ignore it.
        case doNothing
    }

    /// What to do when the timer armed for ``nextDeadline`` fires.
    package enum TimerFiredAction: Sendable, Equatable {
        /// A refresh or retry is due: run the fetcher (reason in ``inFlightReason``).
        case startFetch
        /// The held token just expired; callers now wait or fail. Nothing to run.
        case tokenExpired
        /// Fired early or nothing is due.
        case doNothing
    }

    /// What to do after an operator forced a refresh.
    package enum RefreshForcedAction: Sendable, Equatable {
        /// Park the caller until the fetch completes; start that fetch first if `startFetch`
        /// (a fetch already in flight is joined, never doubled).
        case waitForFetch(startFetch: Bool)
    }

    /// Event: the service started. Kicks off the first fetch without anyone waiting for it.
    package mutating func start(now: ContinuousClock.Instant) -> StartAction {
        guard case .empty = state else { return .doNothing }
        beginFetch(now: now, reason: .initial)
        return .startFetch
    }

    /// Event: a caller wants a token valid at `now` and, if given, for at least `minValid` more.
    /// A held token that cannot satisfy `minValid` triggers a refresh the caller waits for —
    /// except while backing off, where the caller fails fast instead of defeating the backoff.
    package mutating func tokenRequested(
        now: ContinuousClock.Instant, minValid: Duration? = nil
    ) -> TokenRequestedAction {
        switch state {
        case .empty:
            beginFetch(now: now, reason: .initial)
            return .waitForFetch(startFetch: true)
        case .fetching:
            return .waitForFetch(startFetch: false)
        case .valid(let held, _):
            if held.isUsable(at: now, minValid: minValid) { return .serve(held) }
            beginFetch(now: now, reason: .demand)
            return .waitForFetch(startFetch: true)
        case .refreshing(let held, _):
            if held.isUsable(at: now, minValid: minValid) { return .serve(held) }
            return .waitForFetch(startFetch: false)
        case .failed(let held, let retryAt):
            if let held, held.isUsable(at: now, minValid: minValid) { return .serve(held) }
            return requestWhileBackingOff(now: now, retryAt: retryAt)
        case .expired(let retryAt):
            return requestWhileBackingOff(now: now, retryAt: retryAt)
        }
    }

    private mutating func requestWhileBackingOff(
        now: ContinuousClock.Instant, retryAt: ContinuousClock.Instant
    ) -> TokenRequestedAction {
        // The retry is due but its timer has not been processed yet: start it now.
        if now >= retryAt {
            beginFetch(now: now, reason: .retry)
            return .waitForFetch(startFetch: true)
        }
        return .unavailable(retryAfter: retryAt - now, lastError: lastFailure)
    }

    /// Event: the fetch in flight returned a token. Its lifetime counts from the fetch's start.
    package mutating func fetchSucceeded(
        _ fetched: FetchedToken<Token>, now: ContinuousClock.Instant,
        using generator: inout some RandomNumberGenerator
    ) -> FetchSucceededAction {
        let since: ContinuousClock.Instant
        switch state {
        case .fetching(let start), .refreshing(_, let start): since = start
        case .empty, .valid, .failed, .expired: return .doNothing
        }
        let lifetime = fetched.expiresIn ?? policy.defaultLifetime
        let held = HeldToken(value: fetched.value, receivedAt: since, expiresAt: since + lifetime)
        guard held.isUsable(at: now) else {
            let message =
                "the identity provider returned a token that had expired on arrival "
                + "(expires_in \(lifetime.components.seconds) s, fetch took "
                + "\((now - since).components.seconds) s); check its token lifetime setting"
            let failure = recordFailure(
                category: .unavailable, message: message, now: now, using: &generator)
            return .failWaiters(failure.failure, retryAt: failure.retryAt)
        }
        let refreshAt = since + policy.refreshDelay(lifetime: lifetime, using: &generator)
        state = .valid(held, refreshAt: refreshAt)
        inFlightReason = nil
        consecutiveFailures = 0
        lastSuccessAt = now
        return .resumeWaiters(held, refreshAt: refreshAt)
    }

    /// Event: the fetch in flight failed. Schedules the retry from the policy's backoff, but
    /// never before the IdP's `retryAfter` (RFC 9110 §10.2.3; capped at
    /// `Limits.IdP.maxRetryAfter` so a hostile or broken header cannot park a credential).
    package mutating func fetchFailed(
        category: TokenFetchFailureCategory, message: String, now: ContinuousClock.Instant,
        retryAfter: Duration? = nil, using generator: inout some RandomNumberGenerator
    ) -> FetchFailedAction {
        guard isFetching else { return .doNothing }
        let failure = recordFailure(
            category: category, message: message, now: now, retryAfter: retryAfter,
            using: &generator)
        return .failWaiters(failure.failure, retryAt: failure.retryAt)
    }

    private mutating func recordFailure(
        category: TokenFetchFailureCategory, message: String, now: ContinuousClock.Instant,
        retryAfter: Duration? = nil, using generator: inout some RandomNumberGenerator
    ) -> (failure: TokenFetchFailure, retryAt: ContinuousClock.Instant) {
        consecutiveFailures += 1
        let failure = TokenFetchFailure(category: category, message: message, at: now)
        lastFailure = failure
        var delay = policy.retryDelay(
            consecutiveFailures: consecutiveFailures, category: category, using: &generator)
        if let retryAfter, retryAfter > delay {
            delay = min(retryAfter, Limits.IdP.maxRetryAfter)
        }
        let retryAt = now + delay
        if let held = usableToken(at: now) {
            state = .failed(held, retryAt: retryAt)
        } else {
            state = backoffWithoutToken(retryAt: retryAt)
        }
        inFlightReason = nil
        return (failure, retryAt)
    }

    /// Event: the timer armed for ``nextDeadline`` fired (possibly late, or spuriously early).
    package mutating func timerFired(now: ContinuousClock.Instant) -> TimerFiredAction {
        switch state {
        case .empty, .fetching:
            return .doNothing
        case .valid(let held, let refreshAt):
            guard now >= refreshAt || !held.isUsable(at: now) else { return .doNothing }
            beginFetch(now: now, reason: .scheduled)
            return .startFetch
        case .refreshing(let held, let since):
            guard !held.isUsable(at: now) else { return .doNothing }
            state = .fetching(since: since)
            return .tokenExpired
        case .failed(let held, let retryAt):
            if now >= retryAt {
                beginFetch(now: now, reason: .retry)
                return .startFetch
            }
            guard let held, !held.isUsable(at: now) else { return .doNothing }
            state = backoffWithoutToken(retryAt: retryAt)
            return .tokenExpired
        case .expired(let retryAt):
            guard now >= retryAt else { return .doNothing }
            beginFetch(now: now, reason: .retry)
            return .startFetch
        }
    }

    /// Event: an operator (or client) demanded a new token now. Bypasses the refresh schedule
    /// and any backoff, but joins a fetch already in flight instead of starting a second one.
    package mutating func refreshForced(now: ContinuousClock.Instant) -> RefreshForcedAction {
        if isFetching { return .waitForFetch(startFetch: false) }
        beginFetch(now: now, reason: .forced)
        return .waitForFetch(startFetch: true)
    }
}
