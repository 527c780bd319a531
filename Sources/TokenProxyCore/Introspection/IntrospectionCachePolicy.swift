/// How long an introspection answer may be reused (RFC 7662 §4: a cached answer can miss a
/// revocation, so the window is explicit and configurable).
///
/// - Active: until the token's `exp`, never longer than `activeTTL`; an answer whose `exp` has
///   passed (or that has none and `activeTTL` is 0) is not kept at all. `activeTTL` 0 means
///   every request asks the IdP, for APIs where a revocation must bite at once.
/// - Inactive: `inactiveTTL` (a dead token stays dead; the short window only spares the IdP
///   a client that retries in a loop).
package struct IntrospectionCachePolicy: Sendable, Equatable {
    package var activeTTL: Duration
    package var inactiveTTL: Duration

    package init(
        activeTTL: Duration = Limits.Introspection.defaultCacheTTL,
        inactiveTTL: Duration = Limits.Introspection.defaultInactiveTTL
    ) {
        self.activeTTL = activeTTL
        self.inactiveTTL = inactiveTTL
    }

    /// How long `answer` may be served from the cache, judged at `unixNow` (seconds since the
    /// epoch, the clock `exp` is written in); `nil`: do not cache it.
    package func lifetime(of answer: IntrospectionAnswer, unixNow: Double) -> Duration? {
        guard answer.active else { return inactiveTTL > .zero ? inactiveTTL : nil }
        guard activeTTL > .zero else { return nil }
        guard let expiresAt = answer.expiresAt else { return activeTTL }
        let remaining = Double(expiresAt) - unixNow
        guard remaining > 0 else { return nil }
        return min(activeTTL, .milliseconds(Int64(remaining * 1000)))
    }
}
