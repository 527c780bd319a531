import FoundationEssentials
import Glibc
import Synchronization
import TokenProxyCore
import TokenProxyPosix

/// Something an `EventLoop` drives: one descriptor's readiness and one deadline. Every method
/// is called on the loop's thread.
protocol EventLoopClient: AnyObject {
    /// epoll reported `events` (`Epoll.input`, `.output`, `.hangUp`, `.error` bits).
    func handleEvents(_ events: UInt32)
    /// The client's earliest deadline (`EventLoop.now()` nanoseconds), nil for none.
    var deadline: UInt64? { get }
    /// `deadline` is at or before `now`.
    func deadlinePassed(now: UInt64)
    /// The loop is stopping while the client is still registered: close now.
    func loopStopped()
    /// The work the client left for later with `EventLoop.post(token:)` is due: after the
    /// events of the wake-up it was posted in (or, posted from here, of the next one).
    func runPosted()
}

extension EventLoopClient {
    /// Clients that never post have nothing to run.
    func runPosted() {}
}

/// One thread running `epoll_wait` over the connections assigned to it, like one nginx worker.
///
/// Why not DispatchSource: libdispatch's manager thread owns epoll and hands every readable
/// source to a worker thread, then re-arms through an eventfd; measured, that was about a third
/// of the token API's CPU and one context switch per request. Here the thread that learns a
/// socket is readable reads it, runs the state machine and the handler, and writes the answer.
///
/// Everything but `execute(_:)` and `stop()` must be called on the loop's thread, which is
/// what makes the `@unchecked Sendable` sound: the inbox is the only state other threads touch,
/// and it has its own lock. Deadlines are checked by a scan over the clients when the earliest
/// one noted may have passed; a deadline that moves later (each keep-alive request pushes the
/// idle deadline out) costs nothing until then.
///
/// The clock is read once per wake-up (`time`, like nginx's `ngx_current_msec` after
/// `epoll_wait`), not once per request and again for the timeout and the scan: every deadline
/// a client sets while handling the events of one wake-up counts from the moment it woke.
/// Measured per request with `bench/syscalls.sh`, the loop already makes nginx's syscalls
/// (one `recv`, one `sendmsg`, a share of one `epoll_wait`; no `epoll_ctl`, no futex or
/// eventfd); what is left per request is user-space work like this.
///
/// Fairness, as nginx has it: each ready client gets one event's worth of work per wake-up —
/// a server connection reads once and answers one request, posting (`post(token:)`) any
/// further pipelined one it already holds, or the rest of a read that filled the buffer — so a
/// client that keeps its socket full cannot hold the loop while others wait. Server
/// connections watch their sockets edge-triggered, so they are also served in the order their
/// requests arrived (`ServerConnection.inputReady` says why).
final class EventLoop: @unchecked Sendable {
    /// Work handed over from other threads, and whether the loop was already woken for it.
    struct Inbox {
        var jobs: [@Sendable () -> Void] = []
        var wakePending = false
        var stopped = false
    }

    let name: String
    private let epoll: FileDescriptor
    private let wake: FileDescriptor
    private let inbox = Mutex(Inbox())
    /// Not checked for exclusivity at run time: loop thread only, one access at a time (the
    /// checks were a measurable part of dispatching an event).
    @exclusivity(unchecked) private var clients = EventLoopClientTable()
    // `nextScan` and `time` are not checked for exclusivity at run time either: loop thread
    // only, read or written in single accesses (each check was a call on every request).
    /// When the deadline scan must run next (may be early, never late).
    @exclusivity(unchecked) private var nextScan = UInt64.max
    /// Clients with work left over (`post(token:)`), as their epoll data (a client that left
    /// since is skipped, as its events are), run after the wake-up's events; and the batch
    /// being run, kept to reuse its storage. Loop thread only, like `clients`.
    @exclusivity(unchecked) private var posted: [UInt64] = []
    @exclusivity(unchecked) private var postedRunning: [UInt64] = []
    /// `now()` as read when the loop last woke (loop thread only): the start of every deadline
    /// set while handling that wake-up's events. Behind the true time by at most the time the
    /// loop has spent since, so a deadline counted from it falls that much early, never late.
    @exclusivity(unchecked) private(set) var time = EventLoop.now()
    /// The one buffer every client of this loop reads its socket into, on the loop's thread.
    ///
    /// A client reads, hands the bytes to its parser (which keeps only what it has not
    /// consumed) and is done with the buffer before it returns, so one per loop serves them
    /// all: an idle connection costs no read buffer (16 KiB each, measured, was most of an
    /// idle connection's memory). Never keep a pointer into it past the call that read.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Client connections this loop serves, of every server on it (the token API's and the
    /// proxy's): counted by `ConnectionShell` at admission and when a connection is gone, read
    /// by any thread — how the shell spreads what a shared socket accepts, and what
    /// `EventLoopGroup.connectionCounts` reports.
    let connections = Atomic<Int>(0)
    /// How busy this loop is, measured by its thread, read by any thread (see `EventLoopLoad`).
    let load = EventLoopLoad()
    /// The longest poll before a blocking wait (`EventLoopPoll`); 0: never poll.
    let busyPollNanoseconds: UInt64
    /// The `Date` bytes of the HTTP responses written on this loop, formatted once per second
    /// for all of its connections rather than once per connection. Loop thread only, one
    /// access per response: not checked for exclusivity at run time (~60 instructions each).
    @exclusivity(unchecked) var responseDate = HTTPServerDate()

    /// A loop that does nothing until `start()`.
    ///
    /// Creating one needs two descriptors; when the process has none left the server cannot
    /// work at all, so that stops the process with a message (raise `LimitNOFILE=`).
    init(name: String, busyPollMicroseconds: Int = 0) {
        self.name = name
        busyPollNanoseconds = UInt64(max(0, busyPollMicroseconds)) * 1000
        readBuffer = .allocate(byteCount: Limits.EventLoop.readBufferBytes, alignment: 16)
        do {
            epoll = try Posix.epollCreate()
            wake = try Posix.eventCounter()
            try Posix.epollControl(
                epoll.rawValue, .add, fd: wake.rawValue, events: Epoll.input,
                token: EventLoopClientTable.wake)
        } catch {
            preconditionFailure("cannot create an event loop: \(error)")
        }
    }

    // Both descriptors close when the loop is released (their owners' deinit), and only then:
    // `execute` may write to the eventfd until the last reference is gone.
    deinit {
        readBuffer.deallocate()
    }

    /// Starts the loop's thread. Call it once.
    func start() {
        do {
            try Posix.startThread(name: name) { [self] in run() }
        } catch {
            preconditionFailure("cannot start the event loop's thread: \(error)")
        }
    }

    /// Runs `job` on the loop's thread soon, from any thread. Dropped once the loop stopped.
    func execute(_ job: @escaping @Sendable () -> Void) {
        let wake = inbox.withLock { inbox -> Bool in
            guard !inbox.stopped else { return false }
            inbox.jobs.append(job)
            defer { inbox.wakePending = true }
            return !inbox.wakePending
        }
        if wake { signal() }
    }

    /// Stops the loop after the jobs already queued; clients still registered are told to close.
    func stop() {
        let wake = inbox.withLock { inbox -> Bool in
            guard !inbox.stopped else { return false }
            inbox.stopped = true
            defer { inbox.wakePending = true }
            return !inbox.wakePending
        }
        if wake { signal() }
    }

    /// Nanoseconds of the continuous clock (`ContinuousTime`), the clock of every deadline.
    static func now() -> UInt64 { ContinuousTime.now() }

    /// Adds `client` under `token` (unique on this loop). It is watched once it calls `watch`,
    /// which must come after this.
    func register(_ client: any EventLoopClient, token: UInt64) {
        clients.insert(client, token: token)
    }

    /// Forgets `token`; events already taken for it are dropped.
    func deregister(token: UInt64) {
        clients.remove(token: token)
    }

    /// The client registered under `token` now, or nil (loop thread only). Lets a callback
    /// reach a client by its token rather than by a weak reference, whose side table made
    /// every retain and release of the client take the runtime's slow path.
    func registeredClient(token: UInt64) -> (any EventLoopClient)? {
        clients.client(for: clients.epollData(for: token))
    }

    /// Moves `fd` from watching `previous` events to `events` (nil: not in epoll at all, which
    /// is also how a client with nothing to wait for avoids level-triggered EPOLLHUP reports).
    func watch(
        fd: Int32, token: UInt64, events: UInt32?, previous: UInt32?
    ) throws(NetError) {
        let operation: Epoll.Operation
        switch (previous, events) {
        case (nil, nil): return
        case (nil, _?): operation = .add
        case (_?, nil): operation = .delete
        case (let old?, let new?):
            guard old != new else { return }
            operation = .modify
        }
        try NetError.mapping { () throws(PosixError) in
            try Posix.epollControl(
                epoll.rawValue, operation, fd: fd, events: events ?? 0,
                token: clients.epollData(for: token))
        }
    }

    /// Runs the `runPosted()` of the client under `token` after the other events of this
    /// wake-up, before the loop waits again (nginx's posted events): how a client that has more
    /// work at hand than one event's worth — pipelined requests already buffered — yields to
    /// the other ready clients instead of doing it all at once. Work posted while posted work
    /// runs waits for the next wake-up, which then does not sleep (`epoll_wait` with a zero
    /// timeout): fresh events and posted work take turns.
    func post(token: UInt64) {
        posted.append(clients.epollData(for: token))
    }

    /// A client's deadline is now `deadline`: scan no later than that.
    func noteDeadline(_ deadline: UInt64) {
        if deadline < nextScan { nextScan = deadline }
    }

    private func signal() {
        var one: UInt64 = 1
        // .wouldBlock (EAGAIN) means the counter is at its maximum: the loop will wake anyway.
        // Nothing else can fail on an eventfd we own.
        _ = withUnsafeBytes(of: &one) { try? Posix.write(wake.rawValue, $0) }
    }

    private func run() {
        var events = [UInt32](repeating: 0, count: Limits.EventLoop.eventsPerWait)
        var tokens = [UInt64](repeating: 0, count: Limits.EventLoop.eventsPerWait)
        var running = true
        var poll = EventLoopPoll(limitNanoseconds: busyPollNanoseconds)
        // Bound once: reading `self.load` in the loop retained and released it per wake-up.
        let load = self.load
        var meter = EventLoopLoadMeter(now: Self.now(), load: load)
        while running {
            let timeout = posted.isEmpty ? timeoutMilliseconds() : 0
            if timeout != 0 { load.setWaiting(true) }
            func wait(_ timeout: Int32) -> Int {
                events.withUnsafeMutableBufferPointer { events in
                    tokens.withUnsafeMutableBufferPointer { tokens in
                        do {
                            return try Posix.epollWait(
                                epoll.rawValue, events: events, tokens: tokens, timeout: timeout)
                        } catch {
                            preconditionFailure("\(error)")
                        }
                    }
                }
            }
            var count = 0
            // The clock as the events came, when polling already read it (0: not read).
            var awoke: UInt64 = 0
            if timeout != 0 {
                // Poll first while wake-ups come soon (`EventLoopPoll`), then block.
                if poll.budget > 0 {
                    let start = Self.now()
                    let end = start &+ poll.budget
                    var now = start
                    repeat {
                        count = wait(0)
                        let tried = now
                        if count == 0 { Posix.yieldCPU() }
                        now = Self.now()
                        if now &- tried > Limits.EventLoop.busyPollSharedNanoseconds,
                            poll.slowTry(at: now, involuntarySwitches: Posix.involuntarySwitches())
                        {
                            break
                        }
                    } while count == 0 && now < end
                    meter.polled(now &- start)
                    if count > 0 { awoke = now }
                }
                if count == 0 {
                    let before = poll.limit > 0 ? Self.now() : 0
                    count = wait(timeout)
                    if poll.limit > 0 {
                        awoke = Self.now()
                        poll.slept(awoke &- before, at: awoke)
                    }
                }
            } else {
                count = wait(0)
            }
            time = awoke != 0 ? awoke : Self.now()
            // Measured before it says it is awake: an awake loop's measure is always fresh
            // when it starts a batch, so only a long batch makes it stale (`EventLoopLoad`).
            meter.woke(at: time, load: load)
            if timeout != 0 { load.setWaiting(false) }
            var woken = false
            for index in 0..<count {
                if tokens[index] == EventLoopClientTable.wake {
                    woken = true
                } else if let (client, type) = clients.target(for: tokens[index]) {
                    // Unretained: the table keeps it alive through this batch even if it
                    // leaves (`EventLoopClientTable.retired`).
                    type.handleEvents(of: client, events[index])
                }
            }
            if !posted.isEmpty { runPosted() }
            if woken {
                running = runInbox()
                // A job may run long (a reload, a test's spin): measure after the jobs too, or
                // a loop that goes to sleep right after would look idle with a stale measure.
                // Only for wake-ups with jobs, rare in the steady state: no clock read per
                // request.
                time = Self.now()
                meter.woke(at: time, load: load)
            }
            scanDeadlines()
            clients.releaseRetired()
        }
        for client in clients.clients { client.loopStopped() }
        clients.removeAll()
    }

    /// Runs the work posted so far (`post(token:)`); what it posts in turn waits.
    private func runPosted() {
        swap(&posted, &postedRunning)
        for data in postedRunning {
            if let (client, type) = clients.target(for: data) { type.runPosted(of: client) }
        }
        postedRunning.removeAll(keepingCapacity: true)
    }

    /// Runs the queued jobs; false once the loop was stopped.
    private func runInbox() -> Bool {
        var counter: UInt64 = 0
        // .wouldBlock: another wake-up already emptied the counter.
        _ = withUnsafeMutableBytes(of: &counter) { try? Posix.read(wake.rawValue, into: $0) }
        let (jobs, stopped) = inbox.withLock { inbox in
            inbox.wakePending = false
            var jobs: [@Sendable () -> Void] = []
            swap(&jobs, &inbox.jobs)
            return (jobs, inbox.stopped)
        }
        for job in jobs { job() }
        return !stopped
    }

    /// How long `epoll_wait` may wait for the next scan. Counted from `time` (when the loop
    /// woke, before handling): the handling since then only makes the wait end a little late,
    /// by that time — microseconds against deadlines of seconds.
    private func timeoutMilliseconds() -> Int32 {
        guard nextScan != .max else { return -1 }
        let now = time
        guard nextScan > now else { return 0 }
        // Rounded up, so the loop never wakes just before a deadline and spins.
        return Int32(clamping: (nextScan - now + 999_999) / 1_000_000)
    }

    private func scanDeadlines() {
        guard time >= nextScan else { return }
        // Read again only when there is a scan: a job from the inbox may have run long.
        let now = Self.now()
        time = now
        nextScan = .max
        var next = UInt64.max
        for client in clients.clients {
            guard var deadline = client.deadline else { continue }
            if deadline <= now {
                client.deadlinePassed(now: now)
                guard let later = client.deadline else { continue }
                deadline = later
            }
            next = min(next, deadline)
        }
        nextScan = min(nextScan, next)
    }
}
