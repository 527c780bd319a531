import Synchronization
import TokenProxyCore

/// One client connection of the `ProxyEngine`, driven by its own thread (`run()`): read a
/// request head, ask the delegate, answer or forward, and loop while keep-alive allows.
///
/// Requests are handled strictly one after another, so pipelined requests are answered in
/// order: the next head is parsed only after the previous response was written, and bytes
/// that arrived early wait in the parser. Everything but `requestShutdown()` and
/// `forceClose()` runs on the connection's thread.
final class ProxyConnection: @unchecked Sendable {
    // @unchecked: the mutable I/O state belongs to the connection thread; what other threads
    // touch lives in `control`.

    /// Why reading from or writing to the client stopped an exchange.
    enum ClientError: Error {
        /// The request broke HTTP/1.1 framing (answered with `status`, then closed).
        case parse(HTTPParseError)
        /// The client went away, reset, stalled past a deadline, or we were shut down.
        case gone
    }

    /// State shared with the threads that shut the engine down.
    struct Control {
        /// Waiting for the next request head (nothing to lose by closing now).
        var idle = false
        var shutdownRequested = false
        /// `forceClose()` ran: an upstream set afterwards is closed at once.
        var forced = false
        /// The upstream stream in use, closed by `forceClose()` to wake a blocked call.
        var upstream: (any ByteStream)?
    }

    /// Size of the client read buffer, and the point at which gathered output is written.
    static let bufferSize = 64 * 1024

    let id: Int
    let client: SocketStream
    let peer: PeerIdentity
    let listenerName: String
    let engine: ProxyEngine
    let configuration: ProxyEngineConfiguration
    var parser: HTTPParser
    /// Bytes for the client not yet written; flushed before any wait on the upstream.
    var output: [UInt8] = []
    var clientEnded = false
    var date = HTTPServerDate()
    let control = ThreadLock(Control())
    let readBuffer: UnsafeMutableRawBufferPointer

    init(
        id: Int, client: SocketStream, peer: PeerIdentity, listenerName: String,
        engine: ProxyEngine
    ) {
        self.id = id
        self.client = client
        self.peer = peer
        self.listenerName = listenerName
        self.engine = engine
        self.configuration = engine.configuration
        self.parser = HTTPParser(mode: .request, limits: engine.configuration.limits)
        self.readBuffer = .allocate(byteCount: Self.bufferSize, alignment: 16)
        output.reserveCapacity(Self.bufferSize + 4096)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// The client's IP address for `X-Forwarded-For`; nil for Unix-socket clients.
    var clientAddress: String? {
        if case .tcp(let address, _) = peer { return address }
        return nil
    }

    /// Whether the engine is shutting down (responses then say `Connection: close`).
    var shutdownRequested: Bool { control.withLock { $0.shutdownRequested } }

    /// Serves requests until the client leaves, a response ends the connection, or the engine
    /// shuts down; then closes the client socket.
    func run() {
        defer { client.close() }
        var first = true
        while true {
            let proceed = control.withLock { control in
                control.idle = true
                return !control.shutdownRequested
            }
            guard proceed else { return }
            let head: HTTPRequestHead
            switch readRequestHead(first: first) {
            case .head(let parsed):
                head = parsed
            case .closed:
                return
            case .timedOut:
                writeLocal(status: 408, text: "request head not received in time", close: true)
                return
            case .failed(let error):
                rejectRequest(error)
                return
            }
            first = false
            control.withLock { $0.idle = false }
            guard handle(head) else { return }
        }
    }

    /// Asks the delegate and carries out its decision. Returns whether the connection may
    /// carry another request.
    private func handle(_ head: HTTPRequestHead) -> Bool {
        let start = ContinuousClock.now
        switch engine.delegate.decide(head, peer: peer, listener: listenerName) {
        case .respond(let response):
            return respond(response, to: head, start: start)
        case .forward(let forward):
            return self.forward(head, forward, start: start)
        case .tunnel(let host, let port):
            tunnel(head, host: host, port: port, start: start)
            return false
        }
    }

    /// Reports a finished exchange to the delegate.
    func report(
        _ head: HTTPRequestHead?, route: String, status: Int, failure: String? = nil,
        retried: Bool = false, start: ContinuousClock.Instant
    ) {
        engine.delegate.completed(
            ProxyEvent(
                routeName: route, method: head?.method ?? "", status: status, failure: failure,
                retriedAfterUnauthorized: retried, duration: ContinuousClock.now - start))
    }

    /// Stops after the exchange in progress; an idle connection is closed at once (which wakes
    /// its read).
    func requestShutdown() {
        let idle = control.withLock { control in
            control.shutdownRequested = true
            return control.idle
        }
        if idle { client.close() }
    }

    /// Closes both sides now, waking whatever call the connection thread is blocked in.
    func forceClose() {
        let upstream = control.withLock { control in
            control.shutdownRequested = true
            control.forced = true
            return control.upstream
        }
        client.close()
        upstream?.close()
    }

    /// Records the upstream stream in use (nil when done), for `forceClose()`.
    func setUpstream(_ stream: (any ByteStream)?) {
        let forced = control.withLock { control in
            control.upstream = stream
            return control.forced
        }
        if forced { stream?.close() }
    }
}
