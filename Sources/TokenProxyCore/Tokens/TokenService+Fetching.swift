/// The service's machinery: fetch tasks, parked callers and per-credential timers. Every entry
/// point after an `await` (fetch completed, timer fired, caller cancelled) re-checks that the
/// service still runs and that the event is still current before touching the lifecycle.
extension TokenService {
    /// Runs the fetcher for the fetch the lifecycle just started.
    func startFetch(_ name: String) {
        guard let reason = credentials[name]?.lifecycle.inFlightReason else { return }
        onEvent(.fetchStarted(name: name, reason: reason))
        credentials[name]!.fetchStartedAt = clock.now
        let fetch = self.fetch
        credentials[name]!.fetchTask = Task {
            let result: Result<FetchedToken<Token>, any Error>
            do {
                result = .success(try await fetch(name))
            } catch {
                result = .failure(error)
            }
            self.fetchCompleted(name, reason: reason, result: result)
        }
    }

    private func fetchCompleted(
        _ name: String, reason: TokenFetchReason, result: Result<FetchedToken<Token>, any Error>
    ) {
        guard !isShutDown, let startedAt = credentials[name]?.fetchStartedAt else { return }
        credentials[name]!.fetchTask = nil
        credentials[name]!.fetchStartedAt = nil
        let now = clock.now
        let latency = now - startedAt
        switch result {
        case .success(let fetched):
            switch credentials[name]!.lifecycle.fetchSucceeded(fetched, now: now, using: &random) {
            case .resumeWaiters(let held, _):
                let snapshot = publishAccepted(held, for: name)
                onEvent(
                    .fetchSucceeded(
                        name: name, reason: reason, latency: latency,
                        lifetime: held.expiresAt - held.receivedAt))
                resumeWaiters(name, with: .success(snapshot))
            case .failWaiters(let failure, let retryAt):
                unpublishIfDropped(name)
                failed(name, reason: reason, failure: failure, retryAt: retryAt, latency: latency)
            case .doNothing:
                break
            }
        case .failure(let error):
            let (category, message) = Self.classify(error)
            let action = credentials[name]!.lifecycle.fetchFailed(
                category: category, message: message, now: now,
                retryAfter: (error as? any TokenFetchError)?.retryAfter, using: &random)
            switch action {
            case .failWaiters(let failure, let retryAt):
                unpublishIfDropped(name)
                failed(name, reason: reason, failure: failure, retryAt: retryAt, latency: latency)
            case .doNothing:
                break
            }
        }
        rearmTimer(name)
    }

    private func failed(
        _ name: String, reason: TokenFetchReason, failure: TokenFetchFailure,
        retryAt: ContinuousClock.Instant, latency: Duration
    ) {
        let retryIn = retryAt - clock.now
        onEvent(
            .fetchFailed(
                name: name, reason: reason, category: failure.category, latency: latency,
                retryIn: retryIn, message: failure.message))
        let error = TokenServiceError.unavailable(
            name: name, category: failure.category, message: failure.message, retryAfter: retryIn)
        resumeWaiters(name, with: .failure(error))
    }

    /// The category and operator-safe message of a fetch error. Errors that do not classify
    /// themselves are reported by type only: their description might quote a secret.
    static func classify(_ error: any Error) -> (TokenFetchFailureCategory, String) {
        if let error = error as? any TokenFetchError {
            return (error.category, error.message)
        }
        return (.unavailable, "token fetch failed with an unclassified error (\(type(of: error)))")
    }

    /// Parks the caller until the fetch in flight for `name` completes.
    func waitForFetch(_ name: String) async throws -> TokenSnapshot<Token> {
        let id = nextWaiterID
        nextWaiterID += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled || isShutDown {
                    continuation.resume(
                        throwing: isShutDown ? TokenServiceError.shutDown : CancellationError())
                    return
                }
                credentials[name]!.waiters.append(Waiter(id: id, continuation: continuation))
            }
        } onCancel: {
            Task { await self.cancelWaiter(name, id: id) }
        }
    }

    private func cancelWaiter(_ name: String, id: Int) {
        guard let index = credentials[name]?.waiters.firstIndex(where: { $0.id == id }) else {
            return
        }
        let waiter = credentials[name]!.waiters.remove(at: index)
        waiter.continuation.resume(throwing: CancellationError())
    }

    func resumeWaiters(_ name: String, with result: Result<TokenSnapshot<Token>, any Error>) {
        guard let waiters = credentials[name]?.waiters, !waiters.isEmpty else { return }
        credentials[name]!.waiters = []
        for waiter in waiters { waiter.continuation.resume(with: result) }
    }

    /// Points the credential's timer task at the lifecycle's next deadline, replacing a task
    /// aimed elsewhere. Stale firings are told apart by a generation number. Every lifecycle
    /// event ends here, so this also drops a snapshot whose token the lifecycle dropped.
    func rearmTimer(_ name: String) {
        guard !isShutDown, let credential = credentials[name] else { return }
        unpublishIfDropped(name)
        guard !isRetired else { return }
        let deadline = credential.lifecycle.nextDeadline
        if deadline == credential.timerDeadline, credential.timer != nil || deadline == nil {
            return
        }
        credential.timer?.cancel()
        let generation = credential.timerGeneration + 1
        credentials[name]!.timerGeneration = generation
        credentials[name]!.timerDeadline = deadline
        guard let deadline else {
            credentials[name]!.timer = nil
            return
        }
        let clock = self.clock
        credentials[name]!.timer = Task {
            do {
                try await clock.sleep(until: deadline)
            } catch {
                return
            }
            self.timerFired(name, generation: generation)
        }
    }

    private func timerFired(_ name: String, generation: Int) {
        guard !isShutDown, credentials[name]?.timerGeneration == generation else { return }
        credentials[name]!.timer = nil
        credentials[name]!.timerDeadline = nil
        let action = credentials[name]!.lifecycle.timerFired(now: clock.now)
        unpublishIfDropped(name)
        switch action {
        case .startFetch:
            startFetch(name)
        case .tokenExpired:
            onEvent(.tokenExpired(name: name))
        case .doNothing:
            break
        }
        rearmTimer(name)
    }
}
