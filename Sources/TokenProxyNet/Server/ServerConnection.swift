import Glibc
import Synchronization
import TokenProxyCore
import TokenProxyPosix

/// One accepted HTTP/1.1 connection of an `HTTPServer`.
///
/// It belongs to one `EventLoop`; everything mutable below is touched only on that loop's
/// thread, which is what makes the `@unchecked Sendable` sound (the one exception, the response
/// slot, has its own lock because handlers answer from any thread). The loop reports readiness
/// and deadlines; `StateMachine` makes every HTTP decision, and this class only carries out the
/// actions. Nothing here ever blocks: a slow or stuck peer costs its own connection's memory
/// and deadline, never another connection's time.
final class ServerConnection: @unchecked Sendable {
    /// Timeouts in nanoseconds, from `HTTPServerConfiguration`.
    struct Timeouts: Sendable {
        var header: UInt64
        var body: UInt64
        var idle: UInt64
        var write: UInt64

        init(_ configuration: HTTPServerConfiguration) {
            header = configuration.headerReadTimeout.clampedNanoseconds
            body = configuration.bodyReadTimeout.clampedNanoseconds
            idle = configuration.idleTimeout.clampedNanoseconds
            write = configuration.writeTimeout.clampedNanoseconds
        }

        func duration(of deadline: StateMachine.Deadline) -> UInt64 {
            switch deadline {
            case .idle: idle
            case .header: header
            case .body: body
            }
        }
    }

    let id: Int
    let loop: EventLoop
    let fd: Int32
    /// Owns `fd`; taken and closed by `close()`.
    private var descriptor: FileDescriptor?
    let peer: PeerIdentity
    let listenerName: String
    let handler: any HTTPServerHandler
    let timeouts: Timeouts
    /// Called once, on the loop's thread, after the descriptor was closed (the shell's
    /// `finished`, kept as is: wrapping it would cost every connection another closure box).
    let onClose: @Sendable () -> Void
    /// Who answers the request in flight; see `ServerConnection+Handler.swift`.
    let responseSlot = Mutex(ResponseSlot.idle)
    /// Set by `shutdownBegins()` from the shutting-down thread, read when a late answer
    /// arrives on the loop.
    let shutdownBegun = Atomic<Bool>(false)

    /// Not checked for exclusivity at run time: only the loop's thread touches it, each event
    /// in one access that ends before the next begins (measured: the checks were ~2 % of a
    /// cached token request).
    @exclusivity(unchecked) var machine: StateMachine
    // The I/O state below is the loop thread's alone, like `machine`, and is not checked for
    // exclusivity at run time either (measured: five checks, ~320 instructions, per cached
    // token request).
    /// Whether the loop should report readability (off while a response is awaited or queued).
    @exclusivity(unchecked) var readingEnabled = false
    /// Whether the loop should report writability (only while output is queued).
    @exclusivity(unchecked) var writingEnabled = false
    /// The events epoll currently watches for `fd` (nil: not in epoll).
    @exclusivity(unchecked) var watchedEvents: UInt32?
    /// Whether the socket may hold bytes not read yet: set by every input report, cleared by a
    /// read that emptied it (nginx's `rev->ready`).
    ///
    /// Why edge-triggered epoll with this flag rather than level-triggered: epoll puts a
    /// level-triggered descriptor back on its ready list as soon as it reports it, so at the next
    /// wait the connections served last — whose clients answer fastest — come before those that
    /// became ready while the loop worked, which then wait a whole extra turn. Measured with 16
    /// clients on one pinned loop (`bench/token-api.sh`): p50 / p90 / p99 of 62 / 108 / 141 µs
    /// level-triggered against nginx's 75 / 89 / 105; edge-triggered, 53–68 / 68–83 / 84–103
    /// against 63–76 / 73–89 / 87–120, and 1.2× the requests/s. nginx runs edge-triggered.
    @exclusivity(unchecked) var inputReady = false
    /// Read and write deadlines, in `EventLoop.now()` nanoseconds.
    @exclusivity(unchecked) var readDeadline: UInt64?
    @exclusivity(unchecked) var writeDeadline: UInt64?
    // No read buffer and no Date cache here: both are the loop's (`EventLoop.readBuffer`,
    // `.responseDate`), so an idle connection holds no byte buffer at all.
    /// Output the socket has not taken yet, from `pendingOffset` on.
    @exclusivity(unchecked) var pending: [UInt8] = []
    @exclusivity(unchecked) var pendingOffset = 0
    /// Whether `pending` ends with a final response (whose completion the machine awaits).
    @exclusivity(unchecked) var pendingHasResponse = false
    @exclusivity(unchecked) var requestSequence = 0
    /// The handler's memory of this connection (`HTTPServerHandler.respondNow`). Loop thread
    /// only, one access per request: not checked for exclusivity at run time (~130 instr).
    @exclusivity(unchecked) var handlerState: AnyObject?
    @exclusivity(unchecked) var isClosed = false
    /// The next pipelined request, parsed from bytes already buffered when the response
    /// before it was written: dispatched in `runPosted()`, after the loop's other ready
    /// connections had their turn. Nothing is read meanwhile (the parser already holds work,
    /// and reading on would let a pipelining client make us buffer without bound).
    @exclusivity(unchecked) var pipelined: Step?

    init(
        id: Int, fileDescriptor: Int32, peer: PeerIdentity, listenerName: String,
        handler: any HTTPServerHandler, configuration: HTTPServerConfiguration,
        loop: EventLoop, onClose: @escaping @Sendable () -> Void
    ) {
        self.id = id
        self.fd = fileDescriptor
        self.descriptor = FileDescriptor(adopting: fileDescriptor)
        self.peer = peer
        self.listenerName = listenerName
        self.handler = handler
        self.timeouts = Timeouts(configuration)
        self.onClose = onClose
        self.loop = loop
        self.machine = StateMachine(settings: configuration.stateMachineSettings)
    }

    /// Joins the loop and starts reading the first request.
    func start() {
        loop.execute { [self] in startOnLoop() }
    }

    /// `start()` when already on the loop's thread (the loop accepted the connection itself):
    /// no hop through the loop's inbox.
    func startOnLoop() {
        // A shutdown or force close queued by another thread may have won the race.
        guard !isClosed else { return }
        loop.register(self, token: EventLoopToken.apiConnection(id))
        run(machine.start())
    }

    /// Closes now if idle, else after the response in progress (sent with `Connection: close`).
    func requestShutdown() {
        loop.execute { [self] in run(machine.shutdownRequested()) }
    }

    /// Shutdown began (`ConnectionShell.shutdown`, any thread): a handler's answer that comes
    /// back from now on closes the connection, even before `requestShutdown`'s job has run.
    func shutdownBegins() {
        shutdownBegun.store(true, ordering: .releasing)
    }

    /// Closes now, whatever is in flight (the grace period is over).
    func forceClose() {
        loop.execute { [self] in close() }
    }

    /// Carries out `first` and every step that follows from it without waiting.
    ///
    /// A loop rather than recursion: a burst of pipelined requests answered synchronously
    /// would otherwise nest one stack frame set per request. `consuming`: the step moves into
    /// the loop variable (borrowed, it was copied: a retain and a release per event).
    func run(_ first: consuming Step) {
        var step = first
        while !isClosed {
            // Consumed: the payloads (head, response) move out instead of being copied; every
            // case that goes on assigns the next step.
            switch consume step {
            case .doNothing:
                return
            case .readMore(let deadline):
                if let deadline { setReadDeadline(deadline) }
                resumeReading()
                // Bytes already reported and not read (a read that filled the buffer, input
                // that came while a response was in flight): epoll will not report them again
                // (edge-triggered), so read them after the other ready connections' turn.
                if inputReady { loop.post(token: EventLoopToken.apiConnection(id)) }
                return
            case .dispatch(let head, let body):
                readDeadline = nil
                guard let response = callHandler(head: consume head, body: consume body) else {
                    suspendReading()
                    return
                }
                step = Step(machine.responseReady(response))
            case .sendContinue(let deadline):
                setReadDeadline(deadline)
                guard send(HTTPServerResponseEncoder.continueResponse, isResponse: false) != .failed
                else {
                    close()
                    return
                }
                resumeReading()
                return
            case .write(let output):
                readDeadline = nil
                switch send(output) {
                case .done:
                    step = Step(machine.writeCompleted())
                    if case .dispatch = step {
                        // A pipelined request was buffered already: one request per connection
                        // per wake-up, the next after the other ready connections (`post`).
                        pipelined = consume step
                        loop.post(token: EventLoopToken.apiConnection(id))
                        return
                    }
                case .pending:
                    suspendReading()
                    return
                case .failed:
                    close()
                    return
                }
            case .close:
                close()
                return
            }
        }
    }

    /// Stops everything: leaves epoll and the loop, closes the descriptor, reports the close.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        machine.closed()
        // What the handler kept (its snapshot of a token among it) goes with the connection.
        handlerState = nil
        pipelined = nil
        readDeadline = nil
        writeDeadline = nil
        readingEnabled = false
        writingEnabled = false
        // Before close(2): a descriptor number must not stay watched once it can be reused.
        try? loop.watch(
            fd: fd, token: EventLoopToken.apiConnection(id), events: nil, previous: watchedEvents)
        watchedEvents = nil
        loop.deregister(token: EventLoopToken.apiConnection(id))
        // A socket's close reports nothing to act on; EBADF (a double close) traps in Posix.
        if let owner = descriptor.take() { try? owner.close() }
        onClose()
    }
}

extension ServerConnection: EventLoopClient {
    func handleEvents(_ events: UInt32) {
        let trouble = Epoll.hangUp | Epoll.error
        if events & (Epoll.input | trouble) != 0 { inputReady = true }
        // Posted work first: the input noted above is read once it is done (`run`'s
        // `.readMore`).
        guard pipelined == nil else { return }
        if readingEnabled && inputReady { readable() }
        if writingEnabled && events & (Epoll.output | trouble) != 0 { writable() }
    }

    var deadline: UInt64? {
        switch (readDeadline, writeDeadline) {
        case (let read?, let write?): min(read, write)
        case (let read?, nil): read
        case (nil, let write?): write
        case (nil, nil): nil
        }
    }

    func deadlinePassed(now: UInt64) {
        if let writeDeadline, writeDeadline <= now {
            close()
            return
        }
        if let deadline = readDeadline, deadline <= now {
            readDeadline = nil
            run(machine.deadlineExpired())
        }
    }

    func loopStopped() {
        close()
    }

    func runPosted() {
        guard !isClosed else { return }
        if let step = pipelined.take() {
            run(step)
        } else if readingEnabled && inputReady {
            readable()
        }
    }
}
