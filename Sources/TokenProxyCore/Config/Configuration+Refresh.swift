/// `credentials.*.refresh`: when a cached token is renewed and how failures back off.
///
/// A token issued with lifetime L is refreshed at the EARLIER of `fraction`·L after issue and
/// `beforeExpiry` before expiry, but never later than `minimumBeforeExpiry` before expiry; the
/// moment is then moved by up to ±`jitter`·(time until it) so many daemons do not refresh in step.
package struct RefreshConfiguration: Sendable, Equatable {
    package static let defaultFraction = 0.5
    package static let defaultBeforeExpiry = Duration.seconds(300)
    package static let defaultMinimumBeforeExpiry = Duration.seconds(60)
    package static let defaultJitter = 0.1
    package static let defaultBackoffInitial = Duration.seconds(1)
    package static let defaultBackoffMaximum = Duration.seconds(300)
    /// The one default lifetime of a token whose response has no `expires_in` (RFC 6749
    /// §5.1 makes it optional). Short on purpose: assuming too long would serve tokens the IdP
    /// already considers expired. ``RefreshPolicy`` starts from it; nothing else assumes one.
    package static let defaultLifetimeWithoutExpiresIn = Duration.seconds(300)

    package var fraction: Double
    package var beforeExpiry: Duration
    package var minimumBeforeExpiry: Duration
    package var jitter: Double
    /// First wait after a failed fetch; doubled per failure up to `backoffMaximum`.
    package var backoffInitial: Duration
    package var backoffMaximum: Duration
    /// Assumed lifetime when the IdP's response has no `expires_in`.
    package var defaultLifetime: Duration

    package init(
        fraction: Double = defaultFraction, beforeExpiry: Duration = defaultBeforeExpiry,
        minimumBeforeExpiry: Duration = defaultMinimumBeforeExpiry, jitter: Double = defaultJitter,
        backoffInitial: Duration = defaultBackoffInitial,
        backoffMaximum: Duration = defaultBackoffMaximum,
        defaultLifetime: Duration = defaultLifetimeWithoutExpiresIn
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
