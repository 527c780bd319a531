import TokenProxyCore
import TokenProxyPosix

/// The accepting side of a `ConnectionShell` whose connections live on event loops (the token
/// API server): every loop watches every listening socket with `EPOLLEXCLUSIVE`, so the kernel
/// wakes one loop per burst of connections, and the loop that accepts a connection keeps it —
/// no hand-off to another thread on the way in (nginx's `accept_mutex off` with
/// `EPOLLEXCLUSIVE`).
///
/// Out of descriptors or memory, a loop stops watching that listener for
/// `Limits.EventLoop.acceptPauseNanoseconds` (the socket stays readable, so retrying at once would
/// spin). `stop` takes every listener out of every loop's epoll, then closes them, which
/// removes Unix socket files we created.
final class LoopAcceptors: Sendable {
    /// Accepts what `listener index` has waiting, on `loop`'s thread.
    typealias Accept = @Sendable (_ loop: EventLoop, _ index: Int) -> Listener.AcceptStop

    private struct State {
        var started = false
        var stopped = false
    }

    let listeners: [Listener]
    let loops: [EventLoop]
    /// The epoll tokens of these acceptors are `tokenBase | listener index`
    /// (`EventLoopToken`): distinct per server sharing the loops.
    let tokenBase: UInt64
    private let state = ThreadLock(State())
    /// `acceptors[loop][listener]`, built by `start`.
    private let acceptors = ThreadLock<[[LoopAcceptor]]>([])

    /// Acceptors for `listeners` on `loops` (which must be running before `start`).
    init(listeners: [Listener], loops: [EventLoop], tokenBase: UInt64) {
        self.listeners = listeners
        self.loops = loops
        self.tokenBase = tokenBase
    }

    /// Starts watching every listener on every loop. Call once.
    func start(onReadable: @escaping Accept) {
        let made = state.withLock { state -> [[LoopAcceptor]] in
            precondition(!state.started, "accepting started twice")
            state.started = true
            guard !state.stopped else { return [] }
            return loops.map { loop in
                listeners.indices.map { index in
                    LoopAcceptor(
                        loop: loop, listener: listeners[index], index: index,
                        token: tokenBase | UInt64(index), onReadable: onReadable)
                }
            }
        }
        acceptors.withLock { $0 = made }
        for (loop, row) in zip(loops, made) {
            loop.execute {
                for acceptor in row { acceptor.begin() }
            }
        }
    }

    /// Stops accepting and returns once every listener is out of every loop's epoll and closed.
    /// Safe to call again, and without `start()`. The loops must still be running.
    func stop() async {
        let started = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return state.started && !state.stopped
        }
        if started {
            let rows = acceptors.withLock { $0 }
            await withTaskGroup(of: Void.self) { group in
                for (loop, row) in zip(loops, rows) {
                    group.addTask {
                        await withCheckedContinuation { continuation in
                            loop.execute {
                                for acceptor in row { acceptor.end() }
                                continuation.resume()
                            }
                        }
                    }
                }
            }
        }
        for listener in listeners { listener.close() }
    }
}

/// One listener on one loop. Everything runs on the loop's thread, which is what makes the
/// `@unchecked Sendable` sound (it crosses threads only inside `LoopAcceptors`' start and stop
/// jobs, which run on that same loop).
final class LoopAcceptor: EventLoopClient, @unchecked Sendable {
    let loop: EventLoop
    let listener: Listener
    let index: Int
    let token: UInt64
    let onReadable: LoopAcceptors.Accept
    /// The events epoll watches for the listener on this loop (nil: not watched).
    private var watched: UInt32?
    /// When accepting resumes after running out of descriptors.
    private var resumeAt: UInt64?
    private var ended = false

    init(
        loop: EventLoop, listener: Listener, index: Int, token: UInt64,
        onReadable: @escaping LoopAcceptors.Accept
    ) {
        self.loop = loop
        self.listener = listener
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
        if onReadable(loop, index) == .outOfResources {
            watch(false)
            let at = EventLoop.now() + Limits.EventLoop.acceptPauseNanoseconds
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
            try loop.watch(
                fd: listener.fileDescriptor, token: token, events: events, previous: watched)
            watched = events
        } catch {
            // Out of kernel memory for epoll: try again after a pause.
            watched = nil
            guard on else { return }
            let at = EventLoop.now() + Limits.EventLoop.acceptPauseNanoseconds
            resumeAt = at
            loop.noteDeadline(at)
        }
    }
}
