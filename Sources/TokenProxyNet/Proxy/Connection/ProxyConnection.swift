import Glibc
import TokenProxyCore
import TokenProxyPosix

/// One client connection of the `ProxyEngine`, living on one event loop with its upstream
/// connection: it carries out what its `StateMachine` decides (read, ask the delegate, answer,
/// forward, tunnel, close) and feeds it what happened. Nothing here blocks: the client socket
/// and the upstream's are non-blocking, a delegate that needs time (a token fetch) answers
/// later and the request waits parked, and bodies move only as fast as the slower side takes
/// them (`ProxyOutputQueue`'s bound).
///
/// Requests are handled strictly one after another, so pipelined requests are answered in
/// order: the machine parses the next head only after the previous response was sent, and
/// bytes that arrived early wait in its parser. Everything runs on the loop's thread (other
/// threads reach it only through `loop.execute`), which makes the `@unchecked Sendable` sound.
final class ProxyConnection: @unchecked Sendable {
    /// The request being answered, from its route decision until its response was sent.
    struct Current {
        /// The request's head; nil once an exchange runs: `startExchange` moves it into the
        /// `Exchange` (`requestHead` finds it in either). Copied there, this second owner of
        /// the head was a retain when the exchange started and a release when it ended.
        var head: HTTPRequestHead?
        let start: UInt64
        /// For reports: the route's name ("" for local answers).
        let route: String
        /// The decision's forward, if it is one. Not the whole `ProxyDecision`: storing it
        /// and matching `case .forward(let forward)? = current?.decision` later copied the
        /// enum (a switch over its cases) three times per request and destroyed the copies
        /// (~250 instructions); only the forward is read again (a tunnel's target waits in
        /// `tunnelTarget`).
        /// `startExchange` moves the forward into the exchange (nil here from then on).
        var forward: ProxyForward? = nil

        /// What an exchange starts from, the head and the forward moved out (nil when there
        /// is no forward). Mutating, so that `current?.takeForExchange()` works in place:
        /// reading `current?.head` and `current?.forward` one after the other copied parts of
        /// the struct out and destroyed the copies (five retains and releases per request).
        mutating func takeForExchange() -> (head: HTTPRequestHead, start: UInt64, ProxyForward)? {
            guard let forward = forward.take() else { return nil }
            guard let head = head.take() else { return nil }
            return (head, start, forward)
        }
    }

    /// What the upstream deadline bounds.
    enum UpstreamWait: Equatable {
        /// Resolving, connecting and the TLS handshake (`connectTimeout`).
        case connect
        /// The response head, or the next piece of its body (`responseTimeout`).
        case response
        /// A tunnel with no traffic either way (`idleTimeout`).
        case tunnelIdle
    }

    /// What to do once the client has taken every queued byte.
    enum AfterFlush: Equatable {
        /// The response was sent: tell the machine (`intact` false: it was cut).
        case responseSent(intact: Bool)
        case close
    }

    let id: Int
    let token: UInt64
    let loop: EventLoop
    let context: ProxyLoopContext
    let engine: ProxyEngine
    let configuration: ProxyEngineConfiguration
    /// `engine.delegate` and `context.pool`, held here too: a method called on a reference
    /// read through another object (`engine.delegate.decide`, `context.pool.release`) was
    /// retained and released around the call, one atomic pair per call per request
    /// (callgrind); read off `self`, the caller's guaranteed reference, it is not.
    let delegate: any ProxyDelegate
    let pool: UpstreamPool
    let peer: PeerIdentity
    /// The client's IP address for `X-Forwarded-For`; nil for Unix-socket clients. Taken out
    /// of `peer` once: a computed property copied it out (and released it) for every request.
    let clientAddress: String?
    let listenerName: String
    let fd: Int32
    // The mutable state below is not checked for exclusivity at run time: only the loop's
    // thread touches it (see the type's comment), and no access overlaps another (the checks, on in every
    // other build of this code, pass the whole suite). Each check was a runtime call, and a
    // proxied request made about a hundred of them (callgrind).
    @exclusivity(unchecked) private var descriptor: FileDescriptor?
    /// The shell's `finished`, called once after the descriptor was closed.
    let onClose: @Sendable () -> Void

    @exclusivity(unchecked) var machine: StateMachine
    @exclusivity(unchecked) var current: Current?
    @exclusivity(unchecked) var exchange: Exchange?
    @exclusivity(unchecked) var tunnel: Tunnel?
    /// The CONNECT target decided for the current request, until `openTunnel` takes it. Not
    /// a field of `Current`: an optional tuple there made `Current?` a type Swift destroys
    /// through `Optional`'s generic value witness (a metadata lookup and an indirect call),
    /// twice per request of any kind (~140 instructions per proxied request, callgrind).
    @exclusivity(unchecked) var tunnelTarget: (host: String, port: Int)?
    /// Bytes for the client not taken by its socket yet.
    @exclusivity(unchecked) var output = ProxyOutputQueue()
    @exclusivity(unchecked) var afterFlush: AfterFlush?
    /// Whether the client socket is read now (only after `.readMore`, and in a tunnel while
    /// the upstream takes more).
    @exclusivity(unchecked) var clientReading = false
    @exclusivity(unchecked) private var clientWatched: UInt32?
    @exclusivity(unchecked) var readDeadline: UInt64?
    @exclusivity(unchecked) var writeDeadline: UInt64?
    @exclusivity(unchecked) var upstreamDeadline: UInt64?
    @exclusivity(unchecked) var upstreamWait = UpstreamWait.connect
    @exclusivity(unchecked) var shutdownRequested = false
    @exclusivity(unchecked) private var shutdownDelivered = false
    /// Counts delegate calls, so an answer arriving after the connection moved on is dropped.
    @exclusivity(unchecked) var sequence = 0
    /// A delegate answer is awaited (the request is parked). Meanwhile the client socket is
    /// watched for its hang-up only (`syncClientInterest`).
    @exclusivity(unchecked) var parked = false
    /// The head of a request parked before its route was decided (`current` is set only
    /// after), so that a client hanging up meanwhile is reported.
    @exclusivity(unchecked) var parkedHead: (head: HTTPRequestHead, start: UInt64)?
    /// `decisionCompletion(loop:token:)`, made once. A `let`: passing a stored `var` to the
    /// delegate copied it (a retain and a release of its context per request).
    let decisionCompletion: @Sendable (ProxyDecision) -> Void
    /// `pumpUpstream` is running, and was asked for another pass meanwhile.
    @exclusivity(unchecked) var pumping = false
    @exclusivity(unchecked) var repump = false
    @exclusivity(unchecked) private var reportedPeak = 0
    @exclusivity(unchecked) var isClosed = false

    init(
        _ admission: ShellAdmission, loop: EventLoop, context: ProxyLoopContext,
        engine: ProxyEngine
    ) {
        self.id = admission.id
        let token = EventLoopToken.proxyConnection(admission.id)
        self.token = token
        self.loop = loop
        self.decisionCompletion = Self.decisionCompletion(loop: loop, token: token)
        self.context = context
        self.engine = engine
        self.configuration = engine.configuration
        self.delegate = engine.delegate
        self.pool = context.pool
        self.peer = admission.peer
        if case .tcp(let address, _) = admission.peer {
            clientAddress = address
        } else {
            clientAddress = nil
        }
        self.listenerName = admission.listener.name
        self.fd = admission.fileDescriptor
        self.descriptor = FileDescriptor(adopting: admission.fileDescriptor)
        self.onClose = admission.finished
        self.machine = StateMachine(
            settings: StateMachine.Settings(
                limits: engine.configuration.limits,
                maxReplayBodyBytes: engine.configuration.maxReplayBodyBytes))
    }

    /// The current request's head, wherever it is now (`Current.head`, or the exchange's
    /// once one runs): for the error paths, which report it.
    var requestHead: HTTPRequestHead? {
        if let head = current?.head { return head }
        return exchange?.head
    }

    /// Whether a tunnel is open. A pattern, not `tunnel != nil`: that comparison copied the
    /// whole `Tunnel?` (and released it) on every call, several times per request.
    var isTunnelling: Bool {
        if case .some = tunnel { return true }
        return false
    }

    /// Joins the loop and reads the first request (on the loop's thread: the loop accepted it).
    func startOnLoop() {
        guard !isClosed else { return }
        loop.register(self, token: token)
        run(Step(machine.start()))
    }

    /// Carries out `first` and every step that follows from it without waiting, then tells
    /// epoll what the client socket waits for.
    func run(_ first: consuming Step?) {
        var step = first
        // Each step moves out of `step` into `perform`: a step carries a head or a body, and
        // binding a copy of it cost a retain and a release per step.
        while !isClosed, let current = step.take() {
            step = perform(current)
        }
        syncClientInterest()
    }

    /// Tells the machine once that the engine shuts down, so that the exchange in progress
    /// ends with `Connection: close`.
    func deliverShutdown() {
        guard !shutdownDelivered, shutdownRequested else { return }
        shutdownDelivered = true
        if machine.shutdownRequested() == .close { close() }
    }

    /// Counts the bytes this connection holds toward `ProxyEngine.peakBufferedBodyBytes`.
    func noteBuffered(_ count: Int) {
        guard count > reportedPeak else { return }
        reportedPeak = count
        engine.noteBuffered(count)
    }

    /// Reports a finished exchange to the delegate.
    func report(
        _ head: HTTPRequestHead?, route: String, status: Int, failure: String? = nil,
        retried: Bool = false, start: UInt64
    ) {
        report(
            method: head?.method ?? "", route: route, status: status, failure: failure,
            retried: retried, start: start)
    }

    /// `report` with the request's method (a finished exchange's path: no optional copy of
    /// its head is made to read the method from). A success goes to the delegate in parts
    /// (`ProxyDelegate.succeeded`).
    func report(
        method: String, route: String, status: Int, failure: String? = nil,
        retried: Bool = false, start: UInt64
    ) {
        if failure == nil {
            engine.delegate.succeeded(
                route: route, method: method, status: status, retried: retried,
                durationNanoseconds: Self.elapsed(since: start), loop: context.index)
            return
        }
        let event = ProxyEvent(
            routeName: route, method: method, status: status, failure: failure,
            retriedAfterUnauthorized: retried,
            durationNanoseconds: Self.elapsed(since: start), loop: context.index)
        engine.delegate.completed(event)
    }

    /// Nanoseconds from `start` (`EventLoop.now()`) to now; the clock is monotonic, the
    /// subtraction clamped anyway.
    static func elapsed(since start: UInt64) -> UInt64 {
        let now = EventLoop.now()
        return now > start ? now - start : 0
    }

    /// Closes both sides now: the upstream (not pooled: its exchange did not finish), the
    /// client socket, and tells the shell.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        machine.closed()
        if let current {
            report(
                requestHead, route: current.route, status: 0, failure: "client went away",
                start: current.start)
            self.current = nil
        }
        exchange?.upstream?.close()
        exchange = nil
        tunnel?.upstream.close()
        tunnel = nil
        tunnelTarget = nil
        readDeadline = nil
        writeDeadline = nil
        upstreamDeadline = nil
        clientReading = false
        output.removeAll()
        // Before close(2): a descriptor number must not stay watched once it can be reused.
        try? loop.watch(fd: fd, token: token, events: nil, previous: clientWatched)
        clientWatched = nil
        loop.deregister(token: token)
        if let owner = descriptor.take() { try? owner.close() }
        onClose()
    }

    /// Tells epoll what the client socket waits for now (reading, writing, or nothing: then
    /// it leaves epoll, which would otherwise keep reporting a hang-up).
    ///
    /// Reading is switched off lazily: while a request is answered the client usually sends
    /// nothing, so its `EPOLLIN` stays registered (no `epoll_ctl` out and back in per request)
    /// and is dropped only when an event comes that nobody reads (`dropUnwantedInput`).
    func syncClientInterest(dropUnwantedInput: Bool = false) {
        guard !isClosed else { return }
        var events: UInt32 = 0
        let watchingInput = (clientWatched ?? 0) & Epoll.input != 0
        if clientReading || (watchingInput && !dropUnwantedInput) { events |= Epoll.input }
        if !output.isEmpty { events |= Epoll.output }
        // A parked request reads nothing, but its client may give up meanwhile.
        if parked { events |= Epoll.readHangUp }
        let wanted = events == 0 ? nil : events
        // Usually unchanged (this runs after every event): `watch` would return at once, but
        // the call and its typed-throws plumbing cost more than the compare.
        if wanted == clientWatched { return }
        do {
            try loop.watch(fd: fd, token: token, events: wanted, previous: clientWatched)
            clientWatched = wanted
        } catch {
            close()
        }
    }

    /// The nanosecond deadline `nanoseconds` (a `context.timeouts` value) from now, noted
    /// with the loop. "Now" is the loop's time of this wake-up (`EventLoop.time`), not a clock
    /// read: several deadlines are set per request, and the cached time puts each early by at
    /// most the loop's work since it woke, never late.
    func deadline(in nanoseconds: UInt64) -> UInt64 {
        let at = loop.time + nanoseconds
        loop.noteDeadline(at)
        return at
    }
}

extension ProxyConnection: ShellConnection {
    func start() {
        loop.execute { [self] in startOnLoop() }
    }

    func requestShutdown() {
        loop.execute { [self] in
            guard !isClosed else { return }
            shutdownRequested = true
            if machine.awaitsRequest && exchange == nil && !isTunnelling && !parked
                && output.isEmpty
            {
                close()
            } else {
                deliverShutdown()
            }
        }
    }

    func forceClose() {
        loop.execute { [self] in close() }
    }
}

extension ProxyConnection: EventLoopClient {
    func handleEvents(_ events: UInt32) {
        let trouble = Epoll.hangUp | Epoll.error
        if parked && events & (trouble | Epoll.readHangUp) != 0 {
            clientLeftWhileParked()
            return
        }
        if !output.isEmpty && events & (Epoll.output | trouble) != 0 { clientWritable() }
        let unread = events & (Epoll.input | trouble) != 0 && !clientReading
        if clientReading && events & (Epoll.input | trouble) != 0 { clientReadable() }
        // Level-triggered: input nobody reads now would be reported again and again.
        syncClientInterest(dropUnwantedInput: unread)
    }

    var deadline: UInt64? {
        [readDeadline, writeDeadline, upstreamDeadline].compactMap { $0 }.min()
    }

    func deadlinePassed(now: UInt64) {
        if let writeDeadline, writeDeadline <= now {
            // The client stopped taking what we send.
            close()
            return
        }
        if let at = upstreamDeadline, at <= now {
            upstreamDeadline = nil
            upstreamTimedOut()
        }
        if !isClosed, let at = readDeadline, at <= now {
            readDeadline = nil
            run(Step(machine.deadlineExpired()))
        }
        syncClientInterest()
    }

    func loopStopped() {
        close()
    }
}
