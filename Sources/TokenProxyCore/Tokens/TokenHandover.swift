/// A token one ``TokenService`` hands to the next across a reload, so that a credential whose
/// settings did not change keeps its token and its schedule instead of fetching again (and
/// making its callers wait for that fetch).
package struct TokenHandover<Token: Sendable>: Sendable {
    /// The published snapshot: the new service publishes this very object, so readers see no
    /// change at all (same token, same `expires_at`).
    package var snapshot: TokenSnapshot<Token>
    /// When the next fetch is due: the old refresh time or retry time, or now when the old
    /// service was fetching (its fetch dies with it).
    package var refreshAt: ContinuousClock.Instant

    package init(snapshot: TokenSnapshot<Token>, refreshAt: ContinuousClock.Instant) {
        self.snapshot = snapshot
        self.refreshAt = refreshAt
    }

    /// The same token with its refresh due at once: for a credential whose settings changed
    /// in a way that leaves its token valid (scopes, refresh policy…), the old token keeps
    /// serving while the new settings fetch in the background.
    package func refreshingAt(_ instant: ContinuousClock.Instant) -> Self {
        Self(snapshot: snapshot, refreshAt: min(refreshAt, instant))
    }
}

extension TokenLifecycle {
    /// A lifecycle that continues with a token another service held: valid, refresh due at
    /// `handover.refreshAt` (a timer that fires at once when that has passed).
    package init(policy: RefreshPolicy, adopting handover: TokenHandover<Token>) {
        self.init(policy: policy)
        state = .valid(handover.snapshot.held, refreshAt: handover.refreshAt)
        lastSuccessAt = handover.snapshot.receivedAt
    }
}

extension TokenService {
    /// The tokens this service serves now, with their schedules, for `init(policies:adopting:…)`
    /// of the service that replaces it on a reload. Changes nothing: if the new service cannot
    /// be built, this one carries on.
    package func handover() -> [String: TokenHandover<Token>] {
        let now = clock.now
        var result: [String: TokenHandover<Token>] = [:]
        for name in credentials.keys {
            let lifecycle = credentials[name]!.lifecycle
            guard lifecycle.usableToken(at: now) != nil, let snapshot = snapshots.current(name)
            else { continue }
            result[name] = TokenHandover(
                snapshot: snapshot, refreshAt: lifecycle.nextFetchAt ?? now)
        }
        return result
    }

    /// Ends this service's own schedule once a reload replaced it: timers stop (no more
    /// refreshes or retries from here); fetches in flight run on, so callers parked on them
    /// still get their answer (see ``shutdownWhenIdle(maximumWait:)``).
    package func retire() {
        isRetired = true
        for name in credentials.keys {
            credentials[name]!.timer?.cancel()
            credentials[name]!.timer = nil
            credentials[name]!.timerDeadline = nil
        }
    }

    /// Shuts down once no caller waits on a fetch any more, or after `maximumWait`: requests
    /// that were waiting when a reload replaced this service complete instead of failing.
    package func shutdownWhenIdle(maximumWait: Duration) async {
        let deadline = clock.now + maximumWait
        while !isShutDown, clock.now < deadline,
            credentials.values.contains(where: { !$0.waiters.isEmpty })
        {
            try? await clock.sleep(until: min(deadline, clock.now + Limits.Reload.idlePollInterval))
        }
        shutdown()
    }
}
