import CLinuxShims
import Dispatch
import Glibc
import Synchronization
import TokenProxyCore

/// One accepted HTTP/1.1 connection of an `HTTPServer`.
///
/// It owns a serial queue; everything mutable below is touched only on that queue, which is
/// what makes the `@unchecked Sendable` sound (the one exception, the response slot, has its own
/// lock because handlers answer from any thread). A read source, a lazily created write source
/// and one timer drive it; `StateMachine` makes every HTTP decision, and this class only
/// carries out the actions. Nothing here ever blocks: a slow or stuck peer costs its own
/// connection's memory and deadline, never another connection's time.
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

    /// Bytes read per `recv`: one typical request fits many times over.
    static let readBufferSize = 16 * 1024

    let id: Int
    let queue: DispatchQueue
    let fd: Int32
    let peer: PeerIdentity
    let listenerName: String
    let handler: any HTTPServerHandler
    let timeouts: Timeouts
    /// Called once, on `queue`, after the descriptor was closed.
    let onClose: @Sendable (Int) -> Void
    /// Who answers the request in flight; see `ServerConnection+Handler.swift`.
    let responseSlot = Mutex(ResponseSlot.idle)

    var machine: StateMachine
    var readSource: (any DispatchSourceRead)?
    var readSuspended = true
    var writeSource: (any DispatchSourceWrite)?
    var writeSuspended = true
    var timer: (any DispatchSourceTimer)?
    /// When the timer is set to fire (uptime nanoseconds); it may fire early and re-arm.
    var timerFiresAt: UInt64?
    var readDeadline: UInt64?
    var writeDeadline: UInt64?
    var readBuffer: [UInt8]
    /// Output the socket has not taken yet, from `pendingOffset` on.
    var pending: [UInt8] = []
    var pendingOffset = 0
    /// Whether `pending` ends with a final response (whose completion the machine awaits).
    var pendingHasResponse = false
    var date = HTTPServerDate()
    var requestSequence = 0
    var isClosed = false
    var openSources = 0

    init(
        id: Int, fileDescriptor: Int32, peer: PeerIdentity, listenerName: String,
        handler: any HTTPServerHandler, configuration: HTTPServerConfiguration,
        targetQueue: DispatchQueue? = nil, onClose: @escaping @Sendable (Int) -> Void
    ) {
        self.id = id
        self.fd = fileDescriptor
        self.peer = peer
        self.listenerName = listenerName
        self.handler = handler
        self.timeouts = Timeouts(configuration)
        self.onClose = onClose
        self.queue = DispatchQueue(label: "tokenproxy.http-server.connection", target: targetQueue)
        self.machine = StateMachine(settings: configuration.stateMachineSettings)
        self.readBuffer = [UInt8](repeating: 0, count: Self.readBufferSize)
    }

    /// Sets up the sources and starts reading the first request.
    func start() {
        queue.async { [self] in
            let read = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            read.setEventHandler { [self] in readable() }
            read.setCancelHandler { [self] in sourceCancelled() }
            readSource = read
            openSources += 1
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.setEventHandler { [self] in timerFired() }
            timer.schedule(deadline: .distantFuture)
            timer.resume()
            self.timer = timer
            run(machine.start())
        }
    }

    /// Closes now if idle, else after the response in progress (sent with `Connection: close`).
    func requestShutdown() {
        queue.async { [self] in run(machine.shutdownRequested()) }
    }

    /// Closes now, whatever is in flight (the grace period is over).
    func forceClose() {
        queue.async { [self] in close() }
    }

    /// Carries out `first` and every action that follows from it without waiting.
    ///
    /// A loop rather than recursion: a burst of pipelined requests answered synchronously
    /// would otherwise nest one stack frame set per request.
    func run(_ first: StateMachine.Action) {
        var action = first
        while !isClosed {
            switch action {
            case .doNothing:
                return
            case .readMore(let deadline):
                if let deadline { setReadDeadline(deadline) }
                resumeReading()
                return
            case .dispatch(let head, let body):
                readDeadline = nil
                guard let response = callHandler(head: head, body: body) else {
                    suspendReading()
                    return
                }
                action = machine.responseReady(response)
            case .sendContinue(let deadline):
                setReadDeadline(deadline)
                guard send(Self.continueBytes, isResponse: false) != .failed else {
                    close()
                    return
                }
                resumeReading()
                return
            case .write(let output):
                readDeadline = nil
                let head = HTTPServerResponseEncoder.head(for: output, date: date.current())
                let body = HTTPServerResponseEncoder.sendsBody(output) ? output.response.body : []
                switch send(head, body, isResponse: true) {
                case .done: action = machine.writeCompleted()
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

    /// Stops everything; the descriptor is closed once dispatch has let go of it.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        machine.closed()
        readDeadline = nil
        writeDeadline = nil
        timer?.cancel()
        timer = nil
        // A suspended source delivers its cancellation only once resumed.
        if let source = readSource {
            source.cancel()
            if readSuspended { source.resume() }
        }
        if let source = writeSource {
            source.cancel()
            if writeSuspended { source.resume() }
        }
        readSource = nil
        writeSource = nil
        if openSources == 0 { release() }
    }

    /// Closing the descriptor while a source still watches it would let epoll report on
    /// whatever file gets the number next, so this waits for every source's cancellation.
    func sourceCancelled() {
        openSources -= 1
        if openSources == 0 { release() }
    }

    private func release() {
        _ = Glibc.close(fd)
        onClose(id)
    }
}
