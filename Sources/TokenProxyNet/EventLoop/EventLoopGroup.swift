import Synchronization
import TokenProxyCore

/// The process's event loops: one per CPU it may use (`CPUBudget`), shared by every server
/// that lives on loops — the token API server and the proxy engine — so that the process
/// runs one set of busy threads however many servers it has.
///
/// The group only creates, starts and stops the loops; who uses which loop is up to the
/// servers (each loop accepts on every listener, from its own socket where the address allows
/// one, see `LoopAcceptors`). Whoever created a
/// group starts it and stops it after every server on it has shut down.
package final class EventLoopGroup: Sendable {
    let loops: [EventLoop]
    /// How many loops, and why (for the daemon's start-up log line).
    package let cpuBudget: CPUBudget

    /// How long each loop polls at most before it blocks, in microseconds (`EventLoopPoll`;
    /// 0: never).
    package let busyPollMicroseconds: Int

    /// `configured` loops, or as many as the CPUs the process may use when nil.
    /// `name` prefixes the threads' names (cut at 15 bytes by the kernel). `busyPoll`: the
    /// configured `api.busy_poll_us`, nil for the default (`CPUBudget.busyPollMicroseconds`).
    package init(configured: Int?, name: String = "loop", busyPoll: Int? = nil) {
        let budget = CPUBudget.measure(configured: configured)
        cpuBudget = budget
        let poll = budget.busyPollMicroseconds(configured: busyPoll)
        busyPollMicroseconds = poll
        loops = (0..<budget.loops).map {
            EventLoop(name: "\(name)-\($0)", busyPollMicroseconds: poll)
        }
    }

    /// Client connections each loop serves now, in loop order (`http-loop-0` first): how
    /// evenly connections spread over the loops.
    package var connectionCounts: [Int] {
        loops.map { $0.connections.load(ordering: .relaxed) }
    }

    /// Each loop's share of a CPU now, per mille, in loop order (`EventLoopLoad.permille(now:)`).
    package var busyPermilles: [Int] {
        let now = EventLoop.now()
        return loops.map { $0.load.permille(now: now) }
    }

    /// Where a connection that `accepting` accepted at `now` from a socket every loop shares
    /// goes (see `ConnectionShell.start`): the first loop, in order, that is not busy
    /// (`EventLoopLoad`), so connections fill one loop before waking the next; when every
    /// loop is busy, the one with the fewest connections.
    static func placement(_ loops: [EventLoop], accepting: EventLoop, now: UInt64) -> EventLoop {
        let index = Self.placement(
            count: loops.count, accepting: loops.firstIndex { $0 === accepting } ?? 0,
            isBusy: { loops[$0].load.isBusy(now: now) },
            connections: { loops[$0].connections.load(ordering: .relaxed) })
        return loops[index]
    }

    /// The rule of `placement(_:accepting:now:)` over `count` loops by index: the first that
    /// is not busy, else the one with the fewest connections (`accepting` on a tie).
    static func placement(
        count: Int, accepting: Int, isBusy: (Int) -> Bool, connections: (Int) -> Int
    ) -> Int {
        for index in 0..<count where !isBusy(index) { return index }
        return balanced(count: count, accepting: accepting, connections: connections)
    }

    /// Where a connection that `accepting` accepted goes under the `.balance` placement
    /// (`ConnectionPlacement`): the loop with the fewest connections, unless the
    /// accepting loop has as few (no hand-off on a tie).
    static func balanced(_ loops: [EventLoop], accepting: EventLoop) -> EventLoop {
        let index = Self.balanced(
            count: loops.count, accepting: loops.firstIndex { $0 === accepting } ?? 0,
            connections: { loops[$0].connections.load(ordering: .relaxed) })
        return loops[index]
    }

    /// The rule of `balanced(_:accepting:)` over `count` loops by index: the first loop with
    /// the fewest connections, `accepting` when it has as few. While connections only open,
    /// the loops' counts stay within one of each other.
    static func balanced(count: Int, accepting: Int, connections: (Int) -> Int) -> Int {
        var best = accepting
        var fewest = connections(accepting)
        for index in 0..<count where index != accepting {
            let count = connections(index)
            if count < fewest {
                best = index
                fewest = count
            }
        }
        return best
    }

    /// Starts every loop's thread. Call once.
    package func start() {
        for loop in loops { loop.start() }
    }

    /// Stops every loop (clients still registered are told to close).
    package func stop() {
        for loop in loops { loop.stop() }
    }
}

/// How the 64-bit epoll tokens of one loop are shared out, so that the token API server, the
/// proxy's client connections, their upstream connections and both servers' acceptors can
/// live on the same loop without colliding: the top bits say whose a token is, the rest is a
/// connection id or listener index.
enum EventLoopToken {
    /// The token API server's connections: its shell's ids, as they are (< 2^61).
    static func apiConnection(_ id: Int) -> UInt64 { UInt64(id) }
    /// The proxy's client connections.
    static func proxyConnection(_ id: Int) -> UInt64 { 1 << 62 | UInt64(id) }
    /// The proxy's upstream connections (a counter per engine).
    static func upstream(_ serial: UInt64) -> UInt64 { 1 << 61 | serial }
    /// The token API's listeners (`LoopAcceptor`).
    static let apiAcceptorBase: UInt64 = 1 << 63
    /// The proxy's listeners.
    static let proxyAcceptorBase: UInt64 = 1 << 63 | 1 << 32
}
