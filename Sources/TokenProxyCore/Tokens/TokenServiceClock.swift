import FoundationEssentials

/// The time source of ``TokenService``: a monotonic `now` and a way to sleep until an instant.
/// Production uses ``ContinuousTokenServiceClock``; tests use ``ManualClock`` and move time by
/// hand. `ContinuousClock` keeps counting while the machine is suspended, which is what token
/// expiry needs (a laptop waking up must not trust a token fetched before it slept).
package protocol TokenServiceClock: Sendable {
    /// The current instant.
    var now: ContinuousClock.Instant { get }
    /// Returns once `now >= deadline`; throws `CancellationError` if the task is cancelled first.
    func sleep(until deadline: ContinuousClock.Instant) async throws
    /// Wall-clock time in seconds since the Unix epoch. Used only to tell clients when a token
    /// expires (`expires_at`); every decision runs on the monotonic `now`.
    var unixTime: Double { get }
}

/// The real clock: `ContinuousClock`.
package struct ContinuousTokenServiceClock: TokenServiceClock {
    /// The system's monotonic clock.
    package init() {}

    /// `ContinuousClock.now`.
    package var now: ContinuousClock.Instant { ContinuousClock.now }

    /// `ContinuousClock.sleep(until:tolerance:)` with no extra tolerance.
    package func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await ContinuousClock().sleep(until: deadline, tolerance: nil)
    }

    /// `Date.now` as Unix seconds.
    package var unixTime: Double { Date().timeIntervalSince1970 }
}
