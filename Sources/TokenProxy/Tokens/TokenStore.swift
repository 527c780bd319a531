import FoundationEssentials
import TokenProxyCore
import TokenProxyNet

extension OAuthError: TokenFetchError {
    /// The full operator message (it never contains secrets).
    package var message: String { description }
}

/// The daemon's token source: a `TokenService` (refresh schedule, backoff, singleflight, and
/// the one token cache) fed by the OAuth client. The common request — a token valid now — is
/// answered from the service's published snapshot, synchronously on the caller's thread;
/// everything else goes through the service's actor.
package final class TokenStore: Sendable {
    /// What the store hands out: an accepted token with its expiry, shared by reference.
    package typealias Snapshot = TokenSnapshot<IssuedToken>

    package let service: TokenService<IssuedToken>
    /// The names, in configuration order.
    package let names: [String]
    /// The service's snapshot slots, parallel to ``names``: read directly by ``cachedToken``,
    /// concrete types without a dictionary lookup or generic code from another module (the
    /// service's own table serves everything else).
    private let slots: [SnapshotSlot]
    /// Introspection (RFC 7662) with the same credentials and IdP clients, for the token API
    /// and the proxy guard; replaced with the store on reload.
    package let introspector: Introspector

    /// The credentials and refresh policies this store was built with (a reload compares the
    /// next configuration with them).
    package let credentials: [Credential]
    package let policies: [String: RefreshPolicy]
    /// Per credential, why the IdP refused the rotation's new key on the last fetch (see
    /// ``keyRejection(_:)``).
    private let rejectedKeys = ThreadLock<[String: String]>([:])

    /// `adopting`: tokens handed over by the store this one replaces (see ``TokenHandover``).
    package init(
        credentials: [Credential], policies: [String: RefreshPolicy],
        adopting: [String: TokenHandover<IssuedToken>] = [:],
        clients: [String: OAuthTokenClient],
        onFetchError: @escaping @Sendable (String, OAuthError) -> Void = { _, _ in },
        onKeyRejected: @escaping @Sendable (String, String) -> Void = { _, _ in },
        onEvent: @escaping TokenService<IssuedToken>.EventHook,
        introspectionCounters: IntrospectionCounters = IntrospectionCounters()
    ) {
        introspector = Introspector(
            credentials: credentials, clients: clients, counters: introspectionCounters)
        // Introspection-only credentials (`fetch_tokens: false`) are the introspector's alone.
        let fetching = credentials.filter(\.fetchesTokens)
        let byName = Dictionary(fetching.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.names = fetching.map(\.name)
        self.credentials = credentials
        self.policies = policies
        // The fetch only translates the IdP's answer: lifetime, expiry and caching are the
        // service's (a missing `expires_in` stays nil, and the credential's policy decides).
        let rejectedKeys = self.rejectedKeys
        let fetch: TokenService<IssuedToken>.Fetch = { name in
            guard let credential = byName[name], let client = clients[name] else {
                throw OAuthError.configuration(credential: name, detail: "not configured")
            }
            let result: OAuthTokenClient.Result
            do {
                result = try await Self.fetch(
                    credential, client: client,
                    rejected: { message in
                        // Logged when the refusal starts, not on every refresh while it lasts.
                        let wasRejected = rejectedKeys.withLock { rejected in
                            defer { rejected[name] = message }
                            return rejected[name] != nil
                        }
                        if let message, !wasRejected { onKeyRejected(name, message) }
                    })
            } catch let error as OAuthError {
                onFetchError(name, error)
                throw error
            }
            let token = result.response
            return FetchedToken(
                value: IssuedToken(
                    accessToken: token.accessToken, tokenType: token.tokenType, scope: token.scope),
                expiresIn: token.expiresIn.map { Duration.seconds($0) })
        }
        var made: [String: SnapshotSlot] = [:]
        service = TokenService(
            policies: policies, adopting: adopting, fetch: fetch, onEvent: onEvent,
            makeSnapshotSlot: { name, initial in
                let slot = SnapshotSlot(initial)
                made[name] = slot
                return slot
            })
        // A name without a policy has no slot in the service: it gets one that stays empty.
        slots = names.map { made[$0] ?? SnapshotSlot(nil) }
    }

    /// Why the IdP refused the credential's new key (`next_key`) on the last fetch, if it did:
    /// shown in `/v1/tokens`, `/readyz` and `/metrics` while the old key keeps working.
    package func keyRejection(_ name: String) -> String? {
        rejectedKeys.withLock { $0[name] }
    }

    /// Tries the credential's keys newest first (`Credential.keysToTry`): a key the IdP
    /// rejects as a credential (`invalid_grant`, `invalid_client`, 401/403) hands over to the
    /// next one; `rejected` gets the explanation (or nil when the newest key worked).
    static func fetch(
        _ credential: Credential, client: OAuthTokenClient,
        rejected: @Sendable (String?) -> Void
    ) async throws(OAuthError) -> OAuthTokenClient.Result {
        let candidates = credential.keysToTry
        var refusal: String?
        for (index, candidate) in candidates.enumerated() {
            do {
                let result = try await client.fetchToken(for: candidate)
                rejected(refusal)
                return result
            } catch  where index < candidates.count - 1 && error.category == .credentialRejected {
                let keyID = candidate.key.keyID.map { "'\($0)'" } ?? "(none)"
                refusal =
                    "the IdP rejected the new key \(candidate.keyOrigin): the key may have been "
                    + "deleted or expired in the IdP, or is not registered yet; key id \(keyID). "
                    + "Using the previous key. \(error.description)"
            } catch {
                rejected(refusal)
                throw error
            }
        }
        preconditionFailure("keysToTry is never empty")
    }

    /// The published token if it is valid for at least `minValid` more, without suspending.
    /// `nil` means: ask ``token(_:minValid:)``.
    package func cachedToken(_ name: String, minValid: Duration?) -> Snapshot? {
        // The same answer as `service.cachedToken` (the daemon's service runs on the real
        // clock), from the slot found by a scan over the few configured names.
        guard let position = names.firstIndex(of: name),
            let snapshot = slots[position].withReadLock({ $0 }),
            snapshot.isUsable(at: .now, minValid: minValid)
        else { return nil }
        return snapshot
    }

    /// The slot of the credential at `position` in ``names``: the token API reads it once per
    /// connection and token, then checks only its generation (``SnapshotSlot``).
    package func slot(at position: Int) -> SnapshotSlot { slots[position] }

    /// The lifetime of the published token (from its fetch to its expiry), if one is held.
    package func newestLifetime(_ name: String) -> Duration? {
        service.snapshots.current(name)?.lifetime
    }

    /// A token valid for `minValid` more, from the cache or the service (which may wait for a
    /// fetch shared with other callers).
    package func token(_ name: String, minValid: Duration?) async throws -> Snapshot {
        if let snapshot = cachedToken(name, minValid: minValid) { return snapshot }
        return try await service.token(name, minValid: minValid)
    }

    /// Forces a fetch now (joining one in flight).
    package func refresh(_ name: String) async throws -> Snapshot {
        try await service.refresh(name)
    }

    /// Whether `name` is configured.
    package func contains(_ name: String) -> Bool { names.contains(name) }

    package func start() async { await service.start() }
    package func shutdown() async { await service.shutdown() }
    package func statuses() async -> [CredentialStatus] { await service.statuses() }
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
