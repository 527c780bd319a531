import TokenProxyCore

/// How long an event loop polls (`epoll_wait` with a zero timeout) before it blocks, adapted
/// to how soon its wake-ups come: the guest halt-polling rule (Linux's `cpuidle-haltpoll`)
/// applied to one loop.
///
/// Why: a loop that blocks puts its CPU to sleep, and on a VM whose idle vCPUs halt every
/// wake-up goes through the hypervisor — the waking CPU pays a VM exit to send the
/// interrupt, the woken one an exit and a re-entry before it runs. Under load a loop that is
/// faster than its peers blocks between their batches thousands of times a second (measured,
/// proxy toward an HTTPS upstream, 16 connections, pinned: 2,000–5,000 sleeps a second against
/// nginx's 300–1,400), and those wake-ups, not its own work, decided its throughput: polling up
/// to 30 µs made 1.05× nginx's requests/s where blocking made 0.97× (bench/README.md, "Busy
/// polling").
///
/// Adaptive, so that it costs nothing where it cannot help: after a blocking wait that ended
/// within `limit` (polling would have caught the event), the poll grows (doubling, from
/// `Limits.EventLoop.busyPollStartNanoseconds`, up to `limit`); after one that lasted longer,
/// it halves, and below `busyPollFloorNanoseconds` stops. A loop whose events come further
/// apart than `limit` — an idle or lightly used daemon — soon polls not at all. The default
/// limit (100 µs) also spans one connection's round trip (50–100 µs on the VMs measured),
/// where a wait is two wake-ups of halted vCPUs; 30 µs spanned only a loaded loop's gaps
/// between batches. A `limit` of 0 never polls. While it polls
/// the loop yields the CPU between tries (`Posix.yieldCPU`), so a caller on the same CPU
/// still runs: without that, a caller sharing the loop's CPU could write its next request
/// only after the poll gave up, every wait would look short, and the loop would poll for ever
/// (measured: the token API at one connection, unpinned, 0.87× nginx's requests/s with 1.31×
/// its CPU per request; with the yield 1.05× and 0.9×).
///
/// The kernel's idle poll stops the moment another task wants the CPU; a loop sees it after
/// the fact: a try that took longer than `Limits.EventLoop.busyPollSharedNanoseconds` (200 µs)
/// with the thread's involuntary context switches grown since the last slow try
/// (`Posix.involuntarySwitches`: the yield let another thread run; a try lengthened by an
/// interrupt or by the hypervisor does not count; read only after a slow try, so a switch
/// from earlier, while the loop worked, counts too — the CPU was shared then as well). Then
/// the loop stops polling and blocks, and does not poll again for
/// `busyPollHoldoffNanoseconds`: a loop that yielded stays runnable, so an event that arrives
/// while the other thread runs does not wake it — it waits out that thread's time slice, a
/// millisecond or more — where a blocked loop is woken at once and may preempt. A shorter
/// switch is kept: at one connection the caller or the upstream on the loop's CPU runs for
/// tens of microseconds and writes the very event the poll then finds, with no wake-up at all
/// (bench/README.md, "Busy polling").
struct EventLoopPoll {
    /// The longest poll, in nanoseconds (`api.busy_poll_us`).
    let limit: UInt64
    /// How long to poll before the next blocking wait, in nanoseconds (0: block at once).
    private(set) var budget: UInt64 = 0
    /// No polling before this time (`ContinuousTime` nanoseconds), after a poll found the CPU
    /// shared.
    private(set) var heldUntil: UInt64 = 0

    init(limitNanoseconds: UInt64) {
        limit = limitNanoseconds
    }

    /// The thread's involuntary context switches when a try was last found slow (nil: never).
    private var switchesSeen: Int?

    /// Learns from a poll try that ended at `now` after longer than
    /// `Limits.EventLoop.busyPollSharedNanoseconds`, with the thread's involuntary context
    /// switches so far. True when they grew since the last slow try: another task had the CPU,
    /// and the loop must stop polling; it polls again after the hold-off.
    mutating func slowTry(at now: UInt64, involuntarySwitches: Int) -> Bool {
        defer { switchesSeen = involuntarySwitches }
        guard let seen = switchesSeen, involuntarySwitches != seen else { return false }
        budget = 0
        heldUntil = now &+ Limits.EventLoop.busyPollHoldoffNanoseconds
        return true
    }

    /// Learns from a blocking wait that slept `nanoseconds` before its events came (or its
    /// timeout ran out), at `now`.
    mutating func slept(_ nanoseconds: UInt64, at now: UInt64) {
        if now < heldUntil { return }
        if nanoseconds < limit {
            budget = min(limit, max(budget &* 2, Limits.EventLoop.busyPollStartNanoseconds))
        } else {
            budget = budget < Limits.EventLoop.busyPollFloorNanoseconds ? 0 : budget / 2
        }
    }
}
