import TokenProxyCore
import TokenProxyPosix

/// The accepting side of a `ConnectionShell` whose connections live on event loops: each loop
/// accepts itself and keeps what it accepts — no hand-off to another thread on the way in.
///
/// A TCP listener we bound has one socket per loop (SO_REUSEPORT, `Listener.loopSockets`), each
/// in its own loop's epoll only: the kernel spreads connections over the loops by their
/// 4-tuple (nginx's `listen … reuseport`). A socket that cannot be split — the Unix-domain
/// token API socket, a socket inherited from systemd — is watched by every loop with
/// `EPOLLEXCLUSIVE` (nginx's `accept_mutex off`); the kernel wakes one waiting loop per
/// burst, which accepts the whole burst. Which loop then serves a connection is the shell's
/// choice (`ConnectionPlacement`; the `shared` flag of `Accept` says which kind of
/// socket it came from).
///
/// The set of listeners can change while accepting (a configuration reload moving a listen
/// address): `add` starts watching a new listener on every loop, `remove` takes one out of
/// every loop and closes it (with its loops' sockets). Each listener has a stable index, never
/// reused, so a stale epoll event of a removed listener can never reach its successor.
///
/// Out of descriptors or memory, a loop stops watching that listener for
/// `Limits.EventLoop.acceptPauseNanoseconds` (the socket stays readable, so retrying at once would
/// spin). `stop` takes every listener out of every loop's epoll, then closes them, which
/// removes Unix socket files we created.
final class LoopAcceptors: Sendable {
    /// Accepts what `socket` of `listener` has waiting, on `loop`'s thread; `shared`: every
    /// loop watches that socket (see the type's comment).
    typealias Accept =
        @Sendable (_ loop: EventLoop, _ listener: Listener, _ socket: Int32, _ shared: Bool) ->
        Listener.AcceptStop

    /// One listener and, once accepting started, its acceptor on each loop (in `loops` order).
    private struct Entry {
        let index: Int
        let listener: Listener
        var acceptors: [LoopAcceptor] = []
    }

    private struct State {
        var started = false
        var stopped = false
        var onReadable: Accept?
        var entries: [Entry] = []
        var nextIndex = 0
    }

    let loops: [EventLoop]
    /// The epoll tokens of these acceptors are `tokenBase | listener index`
    /// (`EventLoopToken`): distinct per server sharing the loops.
    let tokenBase: UInt64
    private let state: ThreadLock<State>

    /// Acceptors for `listeners` on `loops` (which must be running before `start`).
    init(listeners: [Listener], loops: [EventLoop], tokenBase: UInt64) {
        self.loops = loops
        self.tokenBase = tokenBase
        var initial = State()
        for listener in listeners {
            initial.entries.append(Entry(index: initial.nextIndex, listener: listener))
            initial.nextIndex += 1
        }
        self.state = ThreadLock(initial)
    }

    /// The listeners currently accepted from, oldest first.
    var listeners: [Listener] { state.withLock { $0.entries.map(\.listener) } }

    /// The current listeners' indices (their epoll tokens are `tokenBase | index`).
    var listenerIndices: [Int] { state.withLock { $0.entries.map(\.index) } }

    /// Starts watching every listener on every loop. Call once.
    func start(onReadable: @escaping Accept) {
        let made = state.withLock { state -> [[LoopAcceptor]] in
            precondition(!state.started, "accepting started twice")
            state.started = true
            guard !state.stopped else { return [] }
            state.onReadable = onReadable
            for position in state.entries.indices {
                state.entries[position].acceptors = makeAcceptors(
                    state.entries[position], onReadable)
            }
            return state.entries.map(\.acceptors)
        }
        for row in made { begin(row) }
    }

    /// Starts accepting from `listener` on every loop too (it takes ownership of it). After
    /// `stop` it only closes it.
    func add(_ listener: Listener) {
        let made = state.withLock { state -> [LoopAcceptor]? in
            guard !state.stopped else { return nil }
            precondition(
                UInt64(state.nextIndex) < Limits.EventLoop.acceptorTokenRange,
                "out of acceptor tokens")
            var entry = Entry(index: state.nextIndex, listener: listener)
            state.nextIndex += 1
            if let onReadable = state.onReadable {
                entry.acceptors = makeAcceptors(entry, onReadable)
            }
            state.entries.append(entry)
            return entry.acceptors
        }
        guard let made else { return listener.close() }
        begin(made)
    }

    /// Stops accepting from `listener` and returns once it is out of every loop's epoll and
    /// closed (which removes a Unix socket file we created). Connections already accepted
    /// from it are not touched. Returns false if it is not one of ours (or already removed).
    @discardableResult
    func remove(_ listener: Listener) async -> Bool {
        let removed = state.withLock { state -> Entry? in
            guard let position = state.entries.firstIndex(where: { $0.listener === listener })
            else { return nil }
            return state.entries.remove(at: position)
        }
        guard let removed else { return false }
        await end(removed.acceptors)
        listener.close()
        return true
    }

    /// Stops accepting and returns once every listener is out of every loop's epoll and closed.
    /// Safe to call again, and without `start()`. The loops must still be running.
    func stop() async {
        let entries = state.withLock { state -> [Entry] in
            state.stopped = true
            // The accept handler captures its server (whose shell holds us): dropping it here
            // breaks that cycle, or every stopped server and its loops' buffers would leak.
            state.onReadable = nil
            defer { state.entries = [] }
            return state.entries
        }
        await end(entries.flatMap(\.acceptors))
        for entry in entries { entry.listener.close() }
    }

    private func makeAcceptors(_ entry: Entry, _ onReadable: @escaping Accept) -> [LoopAcceptor] {
        let sockets = entry.listener.loopSockets(count: loops.count)
        return zip(loops, sockets).map { loop, socket in
            LoopAcceptor(
                loop: loop, listener: entry.listener, socket: socket,
                shared: Listener.isShared(socket, in: sockets), index: entry.index,
                token: tokenBase | UInt64(entry.index), onReadable: onReadable)
        }
    }

    /// Each acceptor begins on its own loop.
    private func begin(_ acceptors: [LoopAcceptor]) {
        for acceptor in acceptors {
            acceptor.loop.execute { acceptor.begin() }
        }
    }

    /// Each acceptor ends on its own loop; returns when all have.
    private func end(_ acceptors: [LoopAcceptor]) async {
        guard !acceptors.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            for acceptor in acceptors {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        acceptor.loop.execute {
                            acceptor.end()
                            continuation.resume()
                        }
                    }
                }
            }
        }
    }
}

/// One listener on one loop. Everything runs on the loop's thread, which is what makes the
/// `@unchecked Sendable` sound (it crosses threads only inside `LoopAcceptors`' start and stop
/// jobs, which run on that same loop).
final class LoopAcceptor: EventLoopClient, @unchecked Sendable {
    let loop: EventLoop
    let listener: Listener
    /// The socket this loop accepts from: its own (SO_REUSEPORT) or one every loop shares.
    let socket: Int32
    let shared: Bool
    let index: Int
    let token: UInt64
    let onReadable: LoopAcceptors.Accept
    /// The events epoll watches for the listener on this loop (nil: not watched).
    private var watched: UInt32?
    /// When accepting resumes after running out of descriptors.
    private var resumeAt: UInt64?
    private var ended = false

    init(
        loop: EventLoop, listener: Listener, socket: Int32, shared: Bool, index: Int,
        token: UInt64, onReadable: @escaping LoopAcceptors.Accept
    ) {
        self.loop = loop
        self.listener = listener
        self.socket = socket
        self.shared = shared
        self.index = index
        self.token = token
        self.onReadable = onReadable
    }

    /// Joins the loop and starts watching the listener.
    func begin() {
        guard !ended else { return }
        loop.register(self, token: token)
        watch(true)
    }

    /// Stops watching for good (before the listener is closed).
    func end() {
        guard !ended else { return }
        ended = true
        resumeAt = nil
        watch(false)
        loop.deregister(token: token)
    }

    func handleEvents(_ events: UInt32) {
        guard !ended, watched != nil else { return }
        if onReadable(loop, listener, socket, shared) == .outOfResources {
            watch(false)
            let at = loop.time + Limits.EventLoop.acceptPauseNanoseconds
            resumeAt = at
            loop.noteDeadline(at)
        }
    }

    var deadline: UInt64? { resumeAt }

    func deadlinePassed(now: UInt64) {
        resumeAt = nil
        if !ended { watch(true) }
    }

    func loopStopped() { end() }

    /// Adds or removes the listener (`EPOLLEXCLUSIVE` is only valid when adding, so pausing
    /// removes it rather than modifying the events).
    private func watch(_ on: Bool) {
        let events: UInt32? = on ? Epoll.input | Epoll.exclusive : nil
        do {
            try loop.watch(fd: socket, token: token, events: events, previous: watched)
            watched = events
        } catch {
            // Out of kernel memory for epoll: try again after a pause.
            watched = nil
            guard on else { return }
            let at = loop.time + Limits.EventLoop.acceptPauseNanoseconds
            resumeAt = at
            loop.noteDeadline(at)
        }
    }
}
