import Foundation
import Synchronization
import TokenProxyCore
import TokenProxyNet

/// What the daemon holds per credential: the token and what the IdP said about it.
package struct IssuedToken: Sendable {
    package var accessToken: Redacted<String>
    package var tokenType: String
    package var scope: String?
    /// Wall-clock expiry (Unix seconds), fixed when the token arrives so that every answer for
    /// the same token states the same `expires_at`. Counted from the start of the fetch, like
    /// the monotonic expiry that governs serving.
    package var expiresAtUnix: Int64
}

extension OAuthError: TokenFetchError {
    /// The full operator message (it never contains secrets).
    package var message: String { description }
}

/// The daemon's token source: a `TokenService` (refresh schedule, backoff, singleflight) plus a
/// lock-protected copy of each credential's newest token, so that the common request — a
/// still-valid token — is answered synchronously on the connection's queue, without a hop onto
/// the actor. The copy is only a cache: it is consulted only while the token is valid for the
/// caller (minus a safety margin) and everything else goes through the service.
package final class TokenStore: Sendable {
    package let service: TokenService<IssuedToken>
    private let newest: NewestTokens
    /// The names, in configuration order.
    package let names: [String]

    /// The fast path never serves a token this close to its expiry: the service may be a few
    /// microseconds ahead of our record of when the fetch started.
    static let safetyMargin: Duration = .seconds(1)

    package init(
        credentials: [Credential], policies: [String: RefreshPolicy],
        clients: [String: OAuthTokenClient],
        onFetchError: @escaping @Sendable (String, OAuthError) -> Void = { _, _ in },
        onEvent: @escaping TokenService<IssuedToken>.EventHook
    ) {
        let byName = Dictionary(credentials.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newest = NewestTokens()
        self.newest = newest
        self.names = credentials.map(\.name)
        let fetch: TokenService<IssuedToken>.Fetch = { name in
            guard let credential = byName[name], let client = clients[name] else {
                throw OAuthError.configuration(credential: name, detail: "not configured")
            }
            let started = ContinuousClock.now
            let startedWall = Date()
            let result: OAuthTokenClient.Result
            do {
                result = try await client.fetchToken(for: credential)
            } catch let error as OAuthError {
                onFetchError(name, error)
                throw error
            }
            let token = result.response
            let lifetime = token.expiresIn.map { Duration.seconds($0) }
            let fallback = policies[name]?.defaultLifetime ?? .seconds(300)
            let issued = IssuedToken(
                accessToken: token.accessToken, tokenType: token.tokenType, scope: token.scope,
                expiresAtUnix: Int64(startedWall.timeIntervalSince1970)
                    + (lifetime ?? fallback).components.seconds)
            let held = HeldToken(
                value: issued, receivedAt: started, expiresAt: started + (lifetime ?? fallback))
            newest.map.withLock { $0[name] = held }
            return FetchedToken(value: issued, expiresIn: lifetime)
        }
        service = TokenService(policies: policies, fetch: fetch, onEvent: onEvent)
    }

    /// The newest token if it is valid for at least `minValid` more (and the safety margin),
    /// without suspending. `nil` means: ask the service.
    package func cachedToken(_ name: String, minValid: Duration?) -> HeldToken<IssuedToken>? {
        guard let held = newest.map.withReadLock({ $0[name] }) else { return nil }
        let now = ContinuousClock.now
        let needed = (minValid ?? .zero) + Self.safetyMargin
        return held.expiresAt - now >= needed ? held : nil
    }

    /// The lifetime of the newest token (from its fetch to its expiry), if one was fetched.
    package func newestLifetime(_ name: String) -> Duration? {
        newest.map.withReadLock { $0[name] }.map { $0.expiresAt - $0.receivedAt }
    }

    /// A token valid for `minValid` more, from the cache or the service (which may wait for a
    /// fetch shared with other callers).
    package func token(_ name: String, minValid: Duration?) async throws -> HeldToken<IssuedToken> {
        if let held = cachedToken(name, minValid: minValid) { return held }
        return try await service.token(name, minValid: minValid)
    }

    /// Forces a fetch now (joining one in flight).
    package func refresh(_ name: String) async throws -> HeldToken<IssuedToken> {
        try await service.refresh(name)
    }

    /// Whether `name` is configured.
    package func contains(_ name: String) -> Bool { names.contains(name) }

    package func start() async { await service.start() }
    package func shutdown() async { await service.shutdown() }
    package func statuses() async -> [CredentialStatus] { await service.statuses() }
}

/// Shared between the store and its fetch closure; read on every request, written once per
/// refresh, hence a reader-writer lock.
private final class NewestTokens: Sendable {
    let map = ThreadLock<[String: HeldToken<IssuedToken>]>([:])
}

extension RefreshPolicy {
    /// The policy a credential's `refresh` settings describe.
    package init(_ configuration: RefreshConfiguration) {
        self.init(
            fraction: configuration.fraction, beforeExpiry: configuration.beforeExpiry,
            minBeforeExpiry: min(configuration.minimumBeforeExpiry, configuration.beforeExpiry),
            jitter: configuration.jitter, defaultLifetime: configuration.defaultLifetime,
            backoffInitial: configuration.backoffInitial,
            backoffMax: configuration.backoffMaximum)
    }
}
