import Synchronization
import TokenProxyCore
import TokenProxyPosix

/// How busy one event loop is, as its own thread measures it, for other threads to read: where
/// a connection accepted from a socket every loop shares should go (`EventLoopGroup.placement`).
///
/// Why a load and not the number of connections: on the token API, one loop serves some
/// 270,000 requests a second here, and the callers run on the same machine. Spread evenly over
/// every loop, a burst of keep-alive connections keeps every loop half awake: less work per
/// `epoll_wait`, more wake-ups, and a second busy thread competing with the callers for the
/// CPUs. Measured on 2 CPUs, unpinned, 16 and 64 connections: one loop made 1.41× / 1.17×
/// nginx's requests/s with p99 0.80× / 0.93×; the same connections spread over two loops
/// 0.63× / 0.70× with p99 1.96× / 1.93× (`bench/results/token-api-2026-12-04-1808-loops*.md`).
/// So connections fill the first loop until it is busy, then the next: a quiet process runs
/// one busy thread, a loaded one as many as it needs. (nginx gets there by accident: its
/// workers take a shared socket's connections unevenly.)
///
/// The loop measures at a wake-up at most once per `Limits.EventLoop.loadWindowNanoseconds`:
/// the time its thread ran or waited runnable for a CPU (`ThreadDemandClock`, one `pread`) over
/// the wall time since the last measure. Between measures the last one stands; a loop that has
/// not measured for two windows is idle if it sleeps in `epoll_wait` (`waiting`) and busy if it
/// is awake (one long batch of work).
final class EventLoopLoad: Sendable {
    /// The share of its last window the loop's thread ran or waited to run, per mille.
    private let permille = Atomic<Int>(0)
    /// When it was measured (the loop's `EventLoop.now()` clock).
    private let measuredAt = Atomic<UInt64>(ContinuousTime.now())
    /// Whether the loop is blocked in `epoll_wait` now (not set for a zero-timeout wait). A
    /// loop whose thread has not started yet counts as asleep: work handed to it waits in its
    /// inbox until it runs, which is soon.
    private let waiting = Atomic<Bool>(true)

    /// The loop's last measure, per mille of a CPU (for tests and diagnostics).
    var busyPermille: Int { permille.load(ordering: .relaxed) }

    /// Whether the loop is busy at `now` (any thread; see the type's comment).
    func isBusy(now: UInt64) -> Bool {
        permille(now: now) >= Limits.EventLoop.busyPermille
    }

    /// The loop's busy share at `now`, per mille: its last measure while that is fresh (at
    /// most two windows old), whether it sleeps now or not — a loaded loop dips into
    /// `epoll_wait` between batches all the time; once stale, 0 if it sleeps (asleep since) and
    /// 1,000 if it is awake (one batch as long as two windows).
    func permille(now: UInt64) -> Int {
        let at = measuredAt.load(ordering: .relaxed)
        guard now > at &+ 2 &* Limits.EventLoop.loadWindowNanoseconds else {
            return permille.load(ordering: .relaxed)
        }
        return waiting.load(ordering: .relaxed) ? 0 : 1_000
    }

    /// The loop is about to block in `epoll_wait` (true) or woke from it and measured (false).
    /// Loop thread.
    @inline(__always)
    func setWaiting(_ value: Bool) {
        waiting.store(value, ordering: .relaxed)
    }

    /// Publishes a measure. Loop thread.
    func publish(permille value: Int, at time: UInt64) {
        permille.store(value, ordering: .relaxed)
        measuredAt.store(time, ordering: .relaxed)
    }
}

/// The loop thread's side of `EventLoopLoad`: where the current window started, in wall time
/// and in the thread's demand for a CPU (`ThreadDemandClock`: time it ran plus time it waited
/// to run). Loop thread only.
struct EventLoopLoadMeter {
    private let demand: ThreadDemandClock
    private var windowStart: UInt64
    private var demandAtStart: UInt64
    /// Time spent polling for events in this window (`EventLoopPoll`), not counted as demand:
    /// a loop that polls instead of sleeping is no busier, and counted it would look busy to
    /// placement and send connections to a second loop for nothing.
    private var polled: UInt64 = 0

    /// A meter whose first window starts now, on the loop's thread; publishes an idle load, so
    /// a loop that has not measured yet is not taken for one stuck in a long batch.
    init(now: UInt64, load: EventLoopLoad) {
        demand = ThreadDemandClock()
        windowStart = now
        demandAtStart = demand.nanoseconds()
        load.publish(permille: 0, at: now)
    }

    /// At a wake-up at `time`: measures and publishes into `load` once the window has passed.
    @inline(__always)
    mutating func woke(at time: UInt64, load: EventLoopLoad) {
        guard time &- windowStart >= Limits.EventLoop.loadWindowNanoseconds else { return }
        let used = demand.nanoseconds()
        let busy = used &- demandAtStart
        load.publish(
            permille: Self.permille(cpu: busy &- min(busy, polled), wall: time &- windowStart),
            at: time)
        windowStart = time
        demandAtStart = used
        polled = 0
    }

    /// The loop polled for `nanoseconds` before this wake-up (see `polled`).
    @inline(__always)
    mutating func polled(_ nanoseconds: UInt64) {
        polled &+= nanoseconds
    }

    /// `cpu` nanoseconds of demand over `wall` nanoseconds, per mille, at most 1,000 (the two
    /// clocks are read a moment apart).
    static func permille(cpu: UInt64, wall: UInt64) -> Int {
        let perMille = wall / 1_000
        guard perMille > 0 else { return 0 }
        return Int(min(1_000, cpu / perMille))
    }
}
