/// When to refresh an access token and how long to wait after a failed fetch. One value serves
/// every credential; randomness comes in from the caller so tests are deterministic.
///
/// ## Refresh time
/// For a token received at `r` with lifetime `L` (delays are measured from `r`):
/// 1. *Target*: the earlier of `fraction·L` and `L − beforeExpiry` ("whichever comes first").
/// 2. *Floor*: never earlier than `min(fraction·L, minInterval)`. Without it a lifetime just above
///    `beforeExpiry` (a 301 s token refreshed 300 s before expiry) turns into a refresh loop that
///    hammers the IdP; with it such a token is used for at least a minute.
/// 3. *Latest*: never later than `L − minBeforeExpiry`; for tokens too short to afford that
///    margin (`(1 − fraction)·L < minBeforeExpiry`, e.g. a 4 s test token) the latest point is
///    `fraction·L`, which makes short tokens follow the fraction rule alone and keeps the bound
///    continuous in `L`.
/// 4. *Jitter*: the delay is scaled by a uniform factor in `1 ± jitter`, then clamped to
///    `0 … latest`, so jitter never pushes a refresh past the latest point (and so never past
///    expiry) nor before the token was received.
///
/// With the defaults: 4 s → 2 s, 120 s → 60 s, 600 s → 300 s, 12 h → 6 h (each ± 10 %, bounded).
///
/// ## Retry after a failure
/// Exponential backoff with *full jitter* (AWS Architecture Blog, "Exponential Backoff and
/// Jitter"): the n-th consecutive failure (n ≥ 1) waits `random(0 … min(backoffMax,
/// backoffInitial·2^(n−1)))`. Failures that will not heal by retrying soon — the IdP rejected
/// the credential (`invalid_grant`, `invalid_client`: key revoked, expired or unknown) or the
/// configuration is wrong — use the *slow schedule* `random(backoffMax/2 … backoffMax)`: an
/// operator has to act anyway, and the IdP should not see a tight loop of rejected assertions.
package struct RefreshPolicy: Sendable, Equatable {
    /// Share of the lifetime after which a token is refreshed (0 < fraction < 1).
    package var fraction: Double
    /// Refresh at the latest this long before expiry, if that comes before `fraction`.
    package var beforeExpiry: Duration
    /// Hard margin: a refresh is never scheduled later than this before expiry.
    package var minBeforeExpiry: Duration
    /// A token is kept at least this long (or `fraction` of its life, if shorter).
    package var minInterval: Duration
    /// Relative spread applied to the refresh delay (0 ≤ jitter < 1).
    package var jitter: Double
    /// Lifetime assumed when the IdP sends no `expires_in`. Short on purpose: assuming too long
    /// would serve tokens the IdP already considers expired.
    package var defaultLifetime: Duration
    /// Upper bound of the first retry delay.
    package var backoffInitial: Duration
    /// Upper bound of every retry delay.
    package var backoffMax: Duration

    /// Creates a policy; the defaults are the daemon's documented defaults (``Limits/Refresh``).
    /// The configuration layer validates operator-supplied values; out-of-range values here are
    /// programming errors.
    package init(
        fraction: Double = Limits.Refresh.fraction,
        beforeExpiry: Duration = Limits.Refresh.beforeExpiry,
        minBeforeExpiry: Duration = Limits.Refresh.minimumBeforeExpiry,
        minInterval: Duration = Limits.Refresh.minimumInterval,
        jitter: Double = Limits.Refresh.jitter,
        defaultLifetime: Duration = Limits.Refresh.defaultLifetime,
        backoffInitial: Duration = Limits.Refresh.backoffInitial,
        backoffMax: Duration = Limits.Refresh.backoffMaximum
    ) {
        precondition(fraction > 0 && fraction < 1, "RefreshPolicy.fraction must be in (0, 1)")
        precondition(jitter >= 0 && jitter < 1, "RefreshPolicy.jitter must be in [0, 1)")
        precondition(minBeforeExpiry > .zero, "RefreshPolicy.minBeforeExpiry must be positive")
        precondition(defaultLifetime > .zero, "RefreshPolicy.defaultLifetime must be positive")
        precondition(
            backoffInitial > .zero && backoffMax >= backoffInitial,
            "RefreshPolicy backoff needs 0 < backoffInitial <= backoffMax")
        self.fraction = fraction
        self.beforeExpiry = beforeExpiry
        self.minBeforeExpiry = minBeforeExpiry
        self.minInterval = minInterval
        self.jitter = jitter
        self.defaultLifetime = defaultLifetime
        self.backoffInitial = backoffInitial
        self.backoffMax = backoffMax
    }

    /// The latest allowed refresh delay for a lifetime (see the type's documentation, step 3).
    package func latestRefreshDelay(lifetime: Duration) -> Duration {
        guard lifetime > .zero else { return .zero }
        let margin = min(minBeforeExpiry, lifetime * (1 - fraction))
        return lifetime - margin
    }

    /// The refresh delay before jitter (steps 1–3).
    package func targetRefreshDelay(lifetime: Duration) -> Duration {
        guard lifetime > .zero else { return .zero }
        let byFraction = lifetime * fraction
        let target = min(byFraction, lifetime - beforeExpiry)
        let floor = min(byFraction, minInterval)
        return min(max(target, floor), latestRefreshDelay(lifetime: lifetime))
    }

    /// The refresh delay after jitter; `unit` is a uniform random number in `0 … 1` (0 gives the
    /// earliest, 1 the latest jittered value).
    package func refreshDelay(lifetime: Duration, unit: Double) -> Duration {
        let target = targetRefreshDelay(lifetime: lifetime)
        let factor = 1 + jitter * (2 * clampUnit(unit) - 1)
        let jittered = target * factor
        return min(max(jittered, .zero), latestRefreshDelay(lifetime: lifetime))
    }

    /// The refresh delay with jitter drawn from `generator`.
    package func refreshDelay(
        lifetime: Duration, using generator: inout some RandomNumberGenerator
    ) -> Duration {
        refreshDelay(lifetime: lifetime, unit: Self.unit(using: &generator))
    }

    /// The ceiling of the retry delay after `consecutiveFailures` (≥ 1) ordinary failures.
    package func backoffCeiling(consecutiveFailures: Int) -> Duration {
        // 2^40 s is far beyond any sane backoffMax; capping the exponent avoids overflow.
        let exponent = min(max(consecutiveFailures - 1, 0), 40)
        let ceiling = backoffInitial * Double(1 << exponent)
        return min(ceiling, backoffMax)
    }

    /// The retry delay after `consecutiveFailures` (≥ 1) failures of `category`; `unit` is a
    /// uniform random number in `0 … 1`.
    package func retryDelay(
        consecutiveFailures: Int, category: TokenFetchFailureCategory, unit: Double
    ) -> Duration {
        let unit = clampUnit(unit)
        switch category {
        case .credentialRejected, .requestRejected, .configuration:
            let half = backoffMax / 2
            return half + (backoffMax - half) * unit
        case .unavailable:
            return backoffCeiling(consecutiveFailures: consecutiveFailures) * unit
        }
    }

    /// The retry delay with randomness drawn from `generator`.
    package func retryDelay(
        consecutiveFailures: Int, category: TokenFetchFailureCategory,
        using generator: inout some RandomNumberGenerator
    ) -> Duration {
        retryDelay(
            consecutiveFailures: consecutiveFailures, category: category,
            unit: Self.unit(using: &generator))
    }

    /// A uniform number in `0 … 1` from one word of `generator` (53 bits, both ends reachable).
    /// Deliberately not `Double.random(in:using:)`: that one may draw an unbounded number of
    /// words (rejection sampling), which never ends with a constant test generator.
    package static func unit(using generator: inout some RandomNumberGenerator) -> Double {
        Double(generator.next() >> 11) / Double((UInt64(1) << 53) - 1)
    }

    private func clampUnit(_ unit: Double) -> Double {
        unit.isNaN ? 0.5 : min(max(unit, 0), 1)
    }
}
