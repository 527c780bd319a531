/// `credentials.*.refresh`: when a cached token is renewed and how failures back off.
///
/// A token issued with lifetime L is refreshed at the EARLIER of `fraction`·L after issue and
/// `beforeExpiry` before expiry, but never later than `minimumBeforeExpiry` before expiry; the
/// moment is then moved by up to ±`jitter`·(time until it) so many daemons do not refresh in step.
package struct RefreshConfiguration: Sendable, Equatable {
    package var fraction: Double
    package var beforeExpiry: Duration
    package var minimumBeforeExpiry: Duration
    package var jitter: Double
    /// First wait after a failed fetch; doubled per failure up to `backoffMaximum`.
    package var backoffInitial: Duration
    package var backoffMaximum: Duration
    /// Assumed lifetime when the IdP's response has no `expires_in`.
    package var defaultLifetime: Duration

    /// Settings with the defaults from ``Limits/Refresh``.
    package init(
        fraction: Double = Limits.Refresh.fraction,
        beforeExpiry: Duration = Limits.Refresh.beforeExpiry,
        minimumBeforeExpiry: Duration = Limits.Refresh.minimumBeforeExpiry,
        jitter: Double = Limits.Refresh.jitter,
        backoffInitial: Duration = Limits.Refresh.backoffInitial,
        backoffMaximum: Duration = Limits.Refresh.backoffMaximum,
        defaultLifetime: Duration = Limits.Refresh.defaultLifetime
    ) {
        self.fraction = fraction
        self.beforeExpiry = beforeExpiry
        self.minimumBeforeExpiry = minimumBeforeExpiry
        self.jitter = jitter
        self.backoffInitial = backoffInitial
        self.backoffMaximum = backoffMaximum
        self.defaultLifetime = defaultLifetime
    }
}
