import FoundationEssentials
import Synchronization
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

/// Answers "is this token active?" for each credential: from the cache when it may
/// (``IntrospectionCachePolicy``), otherwise with one IdP request shared by every concurrent
/// caller asking about the same token. Never guesses: when the IdP cannot be asked the caller
/// gets the error (the token API turns it into 503 with `Retry-After`).
///
/// Tokens are remembered only as an HMAC under a per-process random key (``KeyedDigest``),
/// never as themselves. One instance serves the token API and the proxy guard; it is
/// replaced with the configuration on reload (a reload empties the cache).
package final class Introspector: Sendable {
    private typealias Key = [UInt8]
    private typealias Outcome = Result<IntrospectionAnswer, IntrospectionError>

    private let credentials: [String: Credential]
    private let clients: [String: OAuthTokenClient]
    private let digest = KeyedDigest(keyBytes: Limits.Introspection.digestKeyBytes)
    /// Pthread locks, not `Mutex`: the proxy's many connection threads contend here, and
    /// `Mutex` spins on Linux (see ARCHITECTURE.md, Threads).
    private let cache: ThreadLock<IntrospectionCache<Key>>
    private let inFlight = ThreadLock<[Key: Task<Outcome, Never>]>([:])
    private let counters: IntrospectionCounters
    /// Seconds since the epoch: the clock of `exp`.
    let unixNow: @Sendable () -> Double
    /// Issuers' signing keys, for the `jwt` modes.
    let jwks = JWKSCache()

    package init(
        credentials: [Credential], clients: [String: OAuthTokenClient],
        counters: IntrospectionCounters,
        cache: IntrospectionCache<[UInt8]> = IntrospectionCache(),
        unixNow: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.credentials = Dictionary(
            credentials.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.clients = clients
        self.counters = counters
        self.cache = ThreadLock(cache)
        self.unixNow = unixNow
    }

    /// Whether `name` is a configured credential.
    package func contains(_ name: String) -> Bool { credentials[name] != nil }

    /// The cached answer for `token`, without suspending (the proxy guard's fast path); in
    /// mode `jwt`, also a JWT checked locally when the issuer's keys are already held.
    /// `nil`: ask ``introspect(_:token:hint:)``. Counts a hit, never a miss (the slow path
    /// that follows counts that).
    package func cachedAnswer(_ name: String, token: Redacted<String>) -> IntrospectionAnswer? {
        let key = digest.digest([name, token.value])
        let now = ContinuousClock.now
        if let answer = cache.withLock({ $0.answer(for: key, now: now) }) {
            counters.recordLookup(credential: name, result: "hit")
            return answer
        }
        guard let credential = credentials[name], credential.introspection.mode == .jwt,
            CompactJWS.looksLikeJWT(token.value),
            let answer = validateJWTWithHeldKeys(token, credential: credential)
        else { return nil }
        counters.recordLocal(credential: name, result: answer.active ? "valid" : "invalid")
        if let lifetime = credential.introspection.cachePolicy.lifetime(
            of: answer, unixNow: unixNow())
        {
            cache.withLock { $0.store(answer, for: key, until: now + lifetime) }
        }
        return answer
    }

    /// The answer for `token`: cached, shared with a request already in flight for the same
    /// token, or asked of the IdP now.
    package func introspect(_ name: String, token: Redacted<String>, hint: String?)
        async throws(IntrospectionError) -> IntrospectionAnswer
    {
        guard let credential = credentials[name], let client = clients[name] else {
            throw .badRequest("no credential named '\(name)'")
        }
        guard !token.value.isEmpty, token.value.utf8.count <= Limits.Introspection.maxTokenBytes
        else {
            throw .badRequest(
                "the token must be 1…\(Limits.Introspection.maxTokenBytes) bytes long")
        }
        let key = digest.digest([name, token.value])
        let now = ContinuousClock.now
        if let answer = cache.withLock({ $0.answer(for: key, now: now) }) {
            counters.recordLookup(credential: name, result: "hit")
            return answer
        }
        let (task, joined) = inFlight.withLock { tasks -> (Task<Outcome, Never>, Bool) in
            if let running = tasks[key] { return (running, true) }
            // Made under the lock, so the task's own removal (which takes the lock) cannot
            // run before it is registered.
            let task = Task<Outcome, Never> {
                let outcome = await self.ask(client, credential, token, hint)
                if case .success(let answer) = outcome,
                    let lifetime = credential.introspection.cachePolicy.lifetime(
                        of: answer, unixNow: self.unixNow())
                {
                    let deadline = ContinuousClock.now + lifetime
                    self.cache.withLock { $0.store(answer, for: key, until: deadline) }
                }
                self.inFlight.withLock { $0[key] = nil }
                return outcome
            }
            tasks[key] = task
            return (task, false)
        }
        counters.recordLookup(credential: name, result: joined ? "shared" : "miss")
        return try await task.value.get()
    }

    /// The answer by the credential's mode: a JWT is validated locally first in the `jwt`
    /// modes (an invalid one is inactive without asking the IdP); `jwt` trusts a valid JWT,
    /// `jwt+introspect` still asks the IdP (revocation). Opaque tokens are always introspected.
    private func ask(
        _ client: OAuthTokenClient, _ credential: Credential, _ token: Redacted<String>,
        _ hint: String?
    ) async -> Outcome {
        let mode = credential.introspection.mode
        guard mode.validatesJWT, CompactJWS.looksLikeJWT(token.value) else {
            return await askIdP(client, credential, token, hint)
        }
        let started = ContinuousClock.now
        let outcome: JWTOutcome
        do {
            outcome = try await validateJWT(token, credential: credential, client: client)
        } catch {
            counters.recordRequest(
                credential: credential.name, outcome: "jwks_" + error.outcome,
                latency: ContinuousClock.now - started)
            return .failure(error)
        }
        switch outcome {
        case .invalid:
            counters.recordLocal(credential: credential.name, result: "invalid")
            return .success(.inactive)
        case .valid(let answer):
            counters.recordLocal(credential: credential.name, result: "valid")
            if mode == .jwt { return .success(answer) }
            return await askIdP(client, credential, token, hint)
        }
    }

    /// One IdP request, timed and counted by outcome.
    private func askIdP(
        _ client: OAuthTokenClient, _ credential: Credential, _ token: Redacted<String>,
        _ hint: String?
    ) async -> Outcome {
        let started = ContinuousClock.now
        let outcome: Outcome
        do {
            outcome = .success(try await client.introspect(token, hint: hint, for: credential))
        } catch {
            outcome = .failure(error)
        }
        let label: String
        switch outcome {
        case .success(let answer): label = answer.active ? "active" : "inactive"
        case .failure(let error): label = error.outcome
        }
        counters.recordRequest(
            credential: credential.name, outcome: label, latency: ContinuousClock.now - started)
        return outcome
    }

    /// Entries held by the cache (for `/metrics`).
    package var cachedEntries: Int { cache.withLock { $0.count } }
}
