import Glibc

/// Nanoseconds of `ContinuousClock` (on Linux `CLOCK_BOOTTIME`, which keeps counting while the
/// system sleeps), as a plain integer: the clock of every event loop (`EventLoop.now()`,
/// `EventLoop.time`, their deadlines) and of `HTTPServerRequest.receivedAt`.
///
/// Why the continuous clock rather than `CLOCK_MONOTONIC`: a handler compares the time a
/// request arrived with instants of `ContinuousClock` (a token's expiry). On the same clock the
/// loop's time, read once per wake-up, serves for that too — no second clock read per request
/// (measured: `ContinuousClock.now` was ~90 instructions of a cached token's ~7,800) and no
/// skew between two clocks after a suspend (`CLOCK_MONOTONIC` stops during one, so an expiry
/// mapped onto it would fall late by the time asleep).
package enum ContinuousTime {
    /// The clock's nanoseconds now.
    @inline(__always)
    package static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// `instant` in this clock's nanoseconds: exact (`systemEpoch` is the clock's zero), 0 for
    /// an instant before it.
    package static func nanoseconds(_ instant: ContinuousClock.Instant) -> UInt64 {
        let (seconds, attoseconds) = (instant - ContinuousClock().systemEpoch).components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// The `ContinuousClock` instant of `nanoseconds`.
    package static func instant(_ nanoseconds: UInt64) -> ContinuousClock.Instant {
        ContinuousClock().systemEpoch + .nanoseconds(Int64(clamping: nanoseconds))
    }
}
