/// Keeps every configured credential's access token fresh and hands tokens to callers.
///
/// The service is also the one token cache: whenever the lifecycle accepts, replaces or drops
/// a token, the service publishes a ``TokenSnapshot`` into ``snapshots``, and readers that
/// only need a token that is valid now take it from there with ``cachedToken(_:minValid:)``,
/// synchronously, from any thread. A snapshot is written only after the lifecycle accepted the
/// token, so a token rejected on arrival (already expired) is never served from the cache.
///
/// One ``TokenLifecycle`` per credential decides *what* happens; this actor carries it out: it
/// runs fetches as unstructured tasks, parks callers until the fetch they need completes, and
/// keeps one timer task per credential asleep on the injected clock until the lifecycle's next
/// deadline. It is an actor rather than a class with a `Mutex` because callers must *suspend*
/// while a fetch is in flight: actor isolation lets the lifecycle, the parked continuations and
/// the timer bookkeeping change together with no lock held across a suspension point, and every
/// resumption re-enters through an actor method that re-checks the state (a fetch completing
/// after `shutdown()`, a timer firing after it was re-armed, a cancelled caller).
///
/// Call `shutdown()` when done: running timer and fetch tasks keep the service alive until then.
package actor TokenService<Token: Sendable> {
    /// Fetches a token for the named credential. Throw a ``TokenFetchError`` to classify failures;
    /// any other error counts as `.unavailable` with a generic message.
    package typealias Fetch = @Sendable (String) async throws -> FetchedToken<Token>
    /// Receives ``TokenServiceEvent``s (metrics, logs). Called on the actor: keep it quick.
    package typealias EventHook = @Sendable (TokenServiceEvent) -> Void

    struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<TokenSnapshot<Token>, any Error>
    }

    struct Credential {
        var lifecycle: TokenLifecycle<Token>
        var waiters: [Waiter] = []
        var timer: Task<Void, Never>?
        var timerDeadline: ContinuousClock.Instant?
        var timerGeneration = 0
        var fetchTask: Task<Void, Never>?
        var fetchStartedAt: ContinuousClock.Instant?
    }

    var credentials: [String: Credential]
    let fetch: Fetch
    nonisolated let clock: any TokenServiceClock
    /// The published snapshot of each credential's token (see the type's documentation).
    package nonisolated let snapshots: TokenSnapshotTable<Token>
    var random: TokenServiceRandom
    let onEvent: EventHook
    var isShutDown = false
    /// Set by ``retire()``: a reload replaced this service; no timers any more.
    var isRetired = false
    var nextWaiterID = 0

    /// A service for the credentials in `policies` (name → refresh policy). `makeSnapshotSlot`
    /// supplies the lock of each entry in ``snapshots`` (see ``TokenSnapshotTable``), given the
    /// credential's name (an owner may keep its own index of the slots). Credentials in
    /// `adopting` start with the handed-over token and schedule instead of fetching.
    package init(
        policies: [String: RefreshPolicy],
        adopting: [String: TokenHandover<Token>] = [:],
        fetch: @escaping Fetch,
        clock: any TokenServiceClock = ContinuousTokenServiceClock(),
        random: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
        onEvent: @escaping EventHook = { _ in },
        makeSnapshotSlot: (String, TokenSnapshot<Token>?) -> TokenSnapshotTable<Token>.Slot = {
            MutexBox($1)
        }
    ) {
        var adopted: [String: TokenHandover<Token>] = [:]
        credentials = [:]
        for (name, policy) in policies {
            if let handover = adopting[name] {
                adopted[name] = handover
                credentials[name] = Credential(
                    lifecycle: TokenLifecycle(policy: policy, adopting: handover))
            } else {
                credentials[name] = Credential(lifecycle: TokenLifecycle(policy: policy))
            }
        }
        snapshots = TokenSnapshotTable(
            names: policies.keys, initial: adopted.mapValues(\.snapshot),
            makeSlot: makeSnapshotSlot)
        self.fetch = fetch
        self.clock = clock
        self.random = TokenServiceRandom(random)
        self.onEvent = onEvent
    }

    /// A service for `names`, all following `policy`.
    package init(
        names: [String],
        policy: RefreshPolicy = RefreshPolicy(),
        fetch: @escaping Fetch,
        clock: any TokenServiceClock = ContinuousTokenServiceClock(),
        random: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
        onEvent: @escaping EventHook = { _ in }
    ) {
        self.init(
            policies: Dictionary(
                names.map { ($0, policy) }, uniquingKeysWith: { first, _ in first }),
            fetch: fetch, clock: clock, random: random, onEvent: onEvent)
    }

    /// The configured credential names, sorted.
    package var names: [String] { credentials.keys.sorted() }

    /// Starts every credential's first fetch and returns at once: start-up never waits for the
    /// IdP (readiness is the status API's business).
    package func start() {
        guard !isShutDown else { return }
        let now = clock.now
        for name in credentials.keys.sorted() {
            if credentials[name]!.lifecycle.start(now: now) == .startFetch {
                startFetch(name)
            }
            rearmTimer(name)
        }
    }

    /// The published token of `name` if it is unexpired now and, with `minValid`, valid at
    /// least that much longer; `nil` means: ask ``token(_:minValid:)``. Never suspends and never
    /// touches the actor: this is the fast path for readers on event-loop threads.
    // `final`: a direct call, not through the actor's vtable.
    package final nonisolated func cachedToken(_ name: String, minValid: Duration? = nil)
        -> TokenSnapshot<Token>?
    {
        guard let snapshot = snapshots.current(name),
            snapshot.isUsable(at: clock.now, minValid: minValid)
        else { return nil }
        return snapshot
    }

    /// A token for `name` that is unexpired now and, with `minValid`, valid at least that much
    /// longer. Waits for the fetch in flight if there is no such token; concurrent callers share
    /// that one fetch. A freshly fetched token is handed to every waiter even if the IdP's
    /// lifetime is shorter than a waiter's `minValid`: fetching again would not help.
    /// - Throws: ``TokenServiceError`` (`unknownCredential`, `unavailable`, `shutDown`), or
    ///   `CancellationError` if the caller's task is cancelled while waiting.
    package func token(_ name: String, minValid: Duration? = nil) async throws
        -> TokenSnapshot<Token>
    {
        try checkUsable(name)
        let action = credentials[name]!.lifecycle.tokenRequested(now: clock.now, minValid: minValid)
        switch action {
        case .serve(let held):
            return snapshot(of: held, name)
        case .unavailable(let retryAfter, let lastError):
            throw TokenServiceError.unavailable(
                name: name, category: lastError?.category ?? .unavailable,
                message: lastError?.message ?? "no token has been fetched yet",
                retryAfter: retryAfter)
        case .waitForFetch(let startNew):
            if startNew { startFetch(name) }
            rearmTimer(name)
            return try await waitForFetch(name)
        }
    }

    /// Fetches a new token for `name` now, ignoring schedule and backoff, and returns it; joins
    /// a fetch already in flight instead of starting another.
    /// - Throws: like ``token(_:minValid:)``; `unavailable` if the fetch fails.
    @discardableResult
    package func refresh(_ name: String) async throws -> TokenSnapshot<Token> {
        try checkUsable(name)
        if credentials[name]!.lifecycle.refreshForced(now: clock.now)
            == .waitForFetch(startFetch: true)
        {
            startFetch(name)
        }
        rearmTimer(name)
        return try await waitForFetch(name)
    }

    /// A status snapshot of every credential, sorted by name.
    package func statuses() -> [CredentialStatus] {
        let now = clock.now
        return credentials.keys.sorted().map { name in
            let credential = credentials[name]!
            return credential.lifecycle.status(
                name: name, now: now, waiters: credential.waiters.count)
        }
    }

    /// Stops timers and fetches and fails every waiting caller with `shutDown`. Idempotent.
    /// The published snapshots stay: readers still holding this service across a reload keep
    /// getting its tokens from ``cachedToken(_:minValid:)`` until they expire (readers check
    /// expiry themselves), while everything that would need the actor fails with `shutDown`.
    package func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        for name in credentials.keys {
            credentials[name]!.timer?.cancel()
            credentials[name]!.timer = nil
            credentials[name]!.fetchTask?.cancel()
            credentials[name]!.fetchTask = nil
            resumeWaiters(name, with: .failure(TokenServiceError.shutDown))
        }
    }

    private func checkUsable(_ name: String) throws {
        guard !isShutDown else { throw TokenServiceError.shutDown }
        guard credentials[name] != nil else {
            throw TokenServiceError.unknownCredential(name: name, known: names)
        }
    }
}

/// Type-erases the injected generator so the actor need not be generic over it.
struct TokenServiceRandom: RandomNumberGenerator {
    private var base: any RandomNumberGenerator

    init(_ base: some RandomNumberGenerator) { self.base = base }

    mutating func next() -> UInt64 { base.next() }
}
