/// Why a token fetch failed, as far as retrying and alerting are concerned.
package enum TokenFetchFailureCategory: String, Sendable, Equatable, CaseIterable {
    /// The local setup is wrong (unreadable key, bad token URL): fix the configuration.
    case configuration
    /// The IdP refused the credential (`invalid_grant`, `invalid_client`): the key is revoked,
    /// expired or unknown. Retried on the slow schedule.
    case credentialRejected = "credential_rejected"
    /// The IdP refused the request itself (RFC 9110 §15.5: any 4xx other than 401, 403, 408
    /// and 429 — a bad scope, an unsupported grant, a wrong token endpoint path): the request
    /// must change, so retrying it soon cannot help. Retried on the slow schedule.
    case requestRejected = "request_rejected"
    /// The IdP could not be reached or answered with a transient error. Retried with backoff.
    case unavailable
}

/// An error a token fetcher throws so the service can classify it. `message` is shown to
/// operators and API clients, so it must never contain a key, assertion or token.
package protocol TokenFetchError: Error {
    /// How the failure should be retried and reported.
    var category: TokenFetchFailureCategory { get }
    /// What went wrong and what to do, without secrets.
    var message: String { get }
    /// How long the IdP asked us to wait (`Retry-After`, RFC 9110 §10.2.3), if it did; the next
    /// attempt is never earlier than this.
    var retryAfter: Duration? { get }
}

extension TokenFetchError {
    /// Most failures carry no wait of the IdP's own.
    package var retryAfter: Duration? { nil }
}

/// A token as the fetcher got it from the IdP.
package struct FetchedToken<Token: Sendable>: Sendable {
    /// The token payload (the service never looks inside it).
    package var value: Token
    /// `expires_in` as sent by the IdP; `nil` when it sent none (the policy's default applies).
    package var expiresIn: Duration?

    package init(value: Token, expiresIn: Duration?) {
        self.value = value
        self.expiresIn = expiresIn
    }
}

/// A token the service holds, with the monotonic instants that govern it.
package struct HeldToken<Token: Sendable>: Sendable {
    /// The token payload.
    package var value: Token
    /// When the fetch that produced it started. The lifetime is counted from here, not from the
    /// response, because the IdP's clock started somewhere in between: this errs on the safe side.
    package var receivedAt: ContinuousClock.Instant
    /// The token must not be served at or after this instant.
    package var expiresAt: ContinuousClock.Instant

    package init(
        value: Token, receivedAt: ContinuousClock.Instant, expiresAt: ContinuousClock.Instant
    ) {
        self.value = value
        self.receivedAt = receivedAt
        self.expiresAt = expiresAt
    }

    /// Whether the token may be served at `now` to a caller that needs it for `minValid` more.
    package func isUsable(at now: ContinuousClock.Instant, minValid: Duration? = nil) -> Bool {
        let remaining = expiresAt - now
        guard remaining > .zero else { return false }
        if let minValid { return remaining >= minValid }
        return true
    }
}

/// The last failure of a credential, kept for status and for errors handed to callers.
package struct TokenFetchFailure: Sendable, Equatable {
    /// How the failure is retried.
    package var category: TokenFetchFailureCategory
    /// Operator-facing message without secrets.
    package var message: String
    /// When it happened.
    package var at: ContinuousClock.Instant

    package init(category: TokenFetchFailureCategory, message: String, at: ContinuousClock.Instant)
    {
        self.category = category
        self.message = message
        self.at = at
    }
}
