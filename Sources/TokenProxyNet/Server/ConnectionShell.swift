import Dispatch
import Synchronization

/// A connection a `ConnectionShell` keeps in its table. How it is driven (a state machine on an
/// event loop, or for now the proxy's thread per connection) is its own business: the shell
/// only starts it, asks it to stop, and hears when it is gone.
protocol ShellConnection: AnyObject, Sendable {
    /// Begins serving. Called once, right after admission, outside the shell's lock. The
    /// connection must call its admission's `finished` exactly once, after its descriptor was
    /// closed — also when it was shut down or force-closed before it got going.
    func start()
    /// Closes now if idle; otherwise finishes the exchange in progress, answering it with
    /// `Connection: close`, and closes then.
    func requestShutdown()
    /// Closes now, whatever is in flight (the grace period is over). Any thread may call it.
    func forceClose()
    /// Shutdown began: called for every connection, on the shutting-down thread, before any of
    /// them is asked to finish (`requestShutdown`), so that an answer still on its way closes
    /// its connection even when it reaches the loop before that request does.
    func shutdownBegins()
}

extension ShellConnection {
    /// Connections whose every answer goes through their loop after `requestShutdown`.
    func shutdownBegins() {}
}

/// What the shell knows about a connection it just accepted and admitted.
struct ShellAdmission: Sendable {
    /// Unique within one shell, increasing; the connection's key in the table.
    let id: Int
    /// The accepted socket (non-blocking, close-on-exec, `TCP_NODELAY` on TCP). The connection
    /// owns it from here on.
    let fileDescriptor: Int32
    let peer: PeerIdentity
    let listener: Listener
    /// Tells the shell the connection is closed: it leaves the table, and a drain it was the
    /// last of ends.
    let finished: @Sendable () -> Void
}

/// Which loop serves a connection a loop accepted (`ConnectionShell.start`). The connection
/// stays where it is placed: its keep-alive requests never move.
enum ConnectionPlacement: Sendable {
    /// The token API's: what a loop accepts from its own socket stays there; what it accepts
    /// from a socket every loop shares goes to the first loop that is not busy
    /// (`EventLoopGroup.placement`; why fill one loop first: `EventLoopLoad`).
    case fill
    /// The proxy's: every connection goes to the loop with the fewest connections, the
    /// accepting loop on a tie (`EventLoopGroup.balanced`), whichever socket it came from. A
    /// proxied request costs about four times a token request, so one loop saturates where
    /// the token API's would not; and SO_REUSEPORT spreads by a hash of the 4-tuple, not by
    /// count, so a few keep-alive connections can land mostly on one loop (measured:
    /// bench/README.md, "Placement").
    case balance
}

/// The part every server of ours shares — the token API server and the proxy engine: the
/// listeners and accepting on the event loops (`LoopAcceptors`), the connection table with its
/// `maxConnections` limit, and the lifecycle `start` → `shutdown(gracePeriod:)`, which stops
/// accepting, lets exchanges in progress finish, force-closes the rest when the grace period
/// is over, and returns once every connection is gone.
///
/// The shell does not know how connections are driven; each server passes `start` a factory
/// that builds its kind of connection from a `ShellAdmission` (see `ShellConnection`).
final class ConnectionShell<Connection: ShellConnection>: Sendable {
    /// Where the shell is in its life; it only ever moves forward.
    enum Phase: Sendable {
        case created
        case running
        /// Not accepting; waiting for the open connections to finish.
        case draining
        case stopped
    }

    private struct State {
        var phase = Phase.created
        var connections: [Int: Connection] = [:]
        var nextConnectionID = 0
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The listeners given to `init`, until `start` hands them to `loopAcceptors`, which
    /// holds the current set from then on (see `updateListeners`).
    private let initialListeners: [Listener]
    /// Most open connections; see `overloadResponse`.
    let maxConnections: Int
    /// The bytes a connection over `maxConnections` (or one accepted while draining) gets
    /// before it is closed; nil closes it without a word. Either way the client fails fast (and
    /// can retry) instead of waiting in the kernel's backlog for a server that will not get to
    /// it.
    let overloadResponse: [UInt8]?
    /// Accepting on the event loops, once `start(on:)` ran.
    let loopAcceptors = ThreadLock<LoopAcceptors?>(nil)
    /// A pthread lock, not a spinning `Mutex`: taken from every loop and from shutdown, and a
    /// spinning waiter costs the holder its CPU; see `ThreadLock`.
    private let state = ThreadLock(State())

    /// A shell on `listeners` (it takes ownership of them and closes them on shutdown).
    init(listeners: [Listener], maxConnections: Int, overloadResponse: [UInt8]? = nil) {
        self.initialListeners = listeners
        self.maxConnections = maxConnections
        self.overloadResponse = overloadResponse
    }

    var phase: Phase { state.withLock { $0.phase } }

    /// Open connections, including ones draining during shutdown.
    var connectionCount: Int { state.withLock { $0.connections.count } }

    /// The port a TCP listener is bound to (after binding port 0), or nil for an unknown name or
    /// a Unix listener.
    func boundPort(_ listenerName: String) -> Int? {
        listeners.first { $0.name == listenerName }?.port
    }

    /// The listeners accepted from now (they change with `updateListeners`).
    var listeners: [Listener] {
        loopAcceptors.withLock { $0?.listeners } ?? initialListeners
    }

    /// Changes the listener set of a running shell: starts accepting from `adding` (taking
    /// ownership) and stops accepting from `removing`, closing them, without touching the other
    /// listeners. Connections already accepted from a removed listener are not closed; they
    /// finish normally. Returns once the removed listeners are out of every loop and closed, so
    /// their addresses can be bound again. Before `start` or after `shutdown` it only closes
    /// `adding`.
    func updateListeners(adding: [Listener], removing: [Listener]) async {
        guard let acceptors = loopAcceptors.withLock({ $0 }) else {
            for listener in adding { listener.close() }
            return
        }
        for listener in removing { await acceptors.remove(listener) }
        for listener in adding { acceptors.add(listener) }
    }

    /// Starts accepting on `loops` themselves and returns at once: each loop watches every
    /// listener (see `LoopAcceptors`), admits what it accepts, and `startOnLoop` starts the
    /// connection right there, on the accepting loop's thread. The loops must be running and
    /// must keep running until `shutdown` returned. `acceptorTokens` is this server's range of
    /// acceptor tokens (`EventLoopToken`). Call it once.
    ///
    /// `placement` says which loop serves what a loop accepted (`ConnectionPlacement`). The
    /// kernel wakes whichever loop is waiting on a socket every loop watches (the Unix socket,
    /// an inherited one), and spreads a TCP address's connections over the loops' own sockets
    /// by a hash, so without it a burst would land wherever the wake-ups or the hash fell. A
    /// connection handed to another loop starts there through that loop's inbox (one hand-off
    /// per connection, never per request: its keep-alive requests stay on it).
    func start(
        on loops: [EventLoop], acceptorTokens: UInt64, placement: ConnectionPlacement,
        makeConnection: @escaping @Sendable (ShellAdmission, EventLoop) -> Connection,
        startOnLoop: @escaping @Sendable (Connection) -> Void
    ) {
        let acceptors = LoopAcceptors(
            listeners: initialListeners, loops: loops, tokenBase: acceptorTokens)
        state.withLock { state in
            precondition(state.phase == .created, "a server was started twice")
            state.phase = .running
        }
        loopAcceptors.withLock { $0 = acceptors }
        acceptors.start { [self] loop, listener, socket, shared in
            listener.acceptPending(from: socket) { accepted, peer in
                let target: EventLoop
                switch placement {
                case .fill:
                    target =
                        shared
                        ? EventLoopGroup.placement(loops, accepting: loop, now: loop.time) : loop
                case .balance:
                    target = EventLoopGroup.balanced(loops, accepting: loop)
                }
                guard
                    let connection = admit(
                        accepted, peer: peer, from: listener, on: target,
                        makeConnection: { makeConnection($0, target) })
                else { return }
                if target === loop {
                    startOnLoop(connection)
                } else {
                    target.execute { startOnLoop(connection) }
                }
            }
        }
    }

    /// Stops accepting (closing the listeners, which removes Unix socket files we created),
    /// asks every connection to finish (idle ones close at once), and after `gracePeriod`
    /// force-closes whatever is left. Returns when every connection is gone. Safe to call more
    /// than once, or without `start()`.
    func shutdown(gracePeriod: Duration) async {
        let connections = state.withLock { state in
            if state.phase == .created || state.phase == .running { state.phase = .draining }
            return Array(state.connections.values)
        }
        // All marked before any is asked to finish: one closing first must not mean that
        // another has not heard yet (its handler's late answer would not say close).
        for connection in connections { connection.shutdownBegins() }
        if let loopAcceptors = loopAcceptors.withLock({ $0 }) {
            await loopAcceptors.stop()
        } else {
            // Never started: nothing watches the listeners; close them (removes socket files).
            for listener in initialListeners { listener.close() }
        }
        for connection in connections { connection.requestShutdown() }
        DispatchQueue.global().asyncAfter(
            deadline: DispatchTime(
                uptimeNanoseconds: DispatchTime.now().uptimeNanoseconds
                    + gracePeriod.clampedNanoseconds)
        ) { [weak self] in
            self?.forceCloseConnections()
        }
        await withCheckedContinuation { continuation in
            let drained = state.withLock { state in
                guard state.connections.isEmpty else {
                    state.drainWaiters.append(continuation)
                    return false
                }
                state.phase = .stopped
                return true
            }
            if drained { continuation.resume() }
        }
    }

    private func forceCloseConnections() {
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections { connection.forceClose() }
    }

    /// A connection is closed: forget it, and finish a drain it was the last of.
    func connectionFinished(_ id: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.connections[id] = nil
            guard state.connections.isEmpty, state.phase == .draining else { return [] }
            state.phase = .stopped
            defer { state.drainWaiters = [] }
            return state.drainWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Enters a connection for `fd` into the table and counts it on `loop` (until it is
    /// finished), or returns nil when over `maxConnections` or not running.
    func register(
        _ fd: Int32, peer: PeerIdentity, from listener: Listener, on loop: EventLoop,
        _ makeConnection: (ShellAdmission) -> Connection
    ) -> Connection? {
        state.withLock { state -> Connection? in
            guard state.phase == .running, state.connections.count < maxConnections else {
                return nil
            }
            state.nextConnectionID += 1
            let id = state.nextConnectionID
            loop.connections.wrappingAdd(1, ordering: .relaxed)
            let connection = makeConnection(
                ShellAdmission(
                    id: id, fileDescriptor: fd, peer: peer, listener: listener,
                    finished: { [weak self] in
                        loop.connections.wrappingSubtract(1, ordering: .relaxed)
                        self?.connectionFinished(id)
                    }))
            state.connections[id] = connection
            return connection
        }
    }
}
