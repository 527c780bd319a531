import Synchronization
import TokenProxyCore
import TokenProxyCrypto

/// Each issuer's signing keys for local JWT validation: fetched on first use, kept for
/// ``Limits/Introspection/jwksTTL``, and fetched again early when a token names a `kid` the
/// set lacks (key rotation) — but such early fetches happen at most once per
/// ``Limits/Introspection/jwksRefetchInterval``, so made-up `kid`s cannot turn every request
/// into an IdP request. Concurrent fetches for
/// one issuer share one request.
package final class JWKSCache: Sendable {
    private typealias Outcome = Result<[JSONWebKey], IntrospectionError>

    private struct Entry: Sendable {
        var keys: [JSONWebKey]
        var fetchedAt: ContinuousClock.Instant
        /// The last fetch made because of an unknown `kid`.
        var forcedAt: ContinuousClock.Instant?
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let inFlight = Mutex<[String: Task<Outcome, Never>]>([:])

    package init() {}

    /// The keys held for `credential`'s issuer without suspending (nil: none yet, or stale).
    package func currentKeys(for credential: Credential) -> [JSONWebKey]? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            entries[credential.issuerString].flatMap {
                now - $0.fetchedAt < Limits.Introspection.jwksTTL ? $0.keys : nil
            }
        }
    }

    /// The keys for `credential`'s issuer. `unknownKeyID`: a token named a `kid` the held set
    /// lacks, so fetch again if the last fetch is older than the refetch interval.
    package func keys(
        for credential: Credential, client: OAuthTokenClient, unknownKeyID: Bool = false
    ) async throws(IntrospectionError) -> [JSONWebKey] {
        let issuer = credential.issuerString
        let now = ContinuousClock.now
        let held = entries.withLock { entries -> [JSONWebKey]? in
            guard var entry = entries[issuer], now - entry.fetchedAt < Limits.Introspection.jwksTTL
            else { return nil }
            guard unknownKeyID else { return entry.keys }
            if let forcedAt = entry.forcedAt,
                now - forcedAt < Limits.Introspection.jwksRefetchInterval
            {
                return entry.keys
            }
            entry.forcedAt = now
            entries[issuer] = entry
            return nil
        }
        if let held { return held }
        let task = inFlight.withLock { tasks -> Task<Outcome, Never> in
            if let running = tasks[issuer] { return running }
            let task = Task<Outcome, Never> {
                let outcome: Outcome
                do throws(IntrospectionError) {
                    outcome = .success(try await client.fetchJWKS(for: credential))
                } catch {
                    outcome = .failure(error)
                }
                if case .success(let keys) = outcome {
                    self.entries.withLock {
                        $0[issuer] = Entry(
                            keys: keys, fetchedAt: ContinuousClock.now,
                            forcedAt: $0[issuer]?.forcedAt)
                    }
                }
                self.inFlight.withLock { $0[issuer] = nil }
                return outcome
            }
            tasks[issuer] = task
            return task
        }
        return try await task.value.get()
    }
}
