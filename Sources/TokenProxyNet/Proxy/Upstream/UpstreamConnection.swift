import Glibc
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyPosix

/// What an `UpstreamConnection` tells the client connection that uses it, on the loop's thread.
protocol UpstreamConnectionOwner: AnyObject {
    /// Connecting (TCP, then TLS for https) finished: `failure` is nil once ready to use.
    func upstreamConnected(_ upstream: UpstreamConnection, failure: NetError?)
    /// The socket may be read or written (level-triggered: called again while it stays so).
    func upstreamReady(_ upstream: UpstreamConnection)
}

/// One connection to an upstream, non-blocking and owned by one event loop: connected without
/// blocking (resolution off the loop, `EINPROGRESS` → writable → `SO_ERROR`, the next address on
/// failure), then TLS for https driven by `TLSSession`'s want-read/want-write, then used by one
/// client connection at a time (its `owner`) or kept idle in its loop's `UpstreamPool`.
///
/// Why a client of the loop of its own rather than a second descriptor of the client
/// connection: the loop stays one-descriptor-per-client, a pooled connection (no owner) still
/// hears its peer close, and the client connection changes upstreams (reuse, replay, a new
/// connection after a stale one) by swapping one reference. Deadlines stay with the owner,
/// which knows what is being waited for; only an idle pooled connection has one of its own.
/// Everything runs on the loop's thread, which makes the `@unchecked Sendable` sound.
final class UpstreamConnection: @unchecked Sendable {
    enum Phase: Equatable {
        case resolving
        case connecting
        case handshaking
        case ready
        case closed
    }

    /// What one read came to.
    enum ReadResult: Equatable {
        case bytes(Int)
        case wouldBlock
        /// The peer closed (cleanly, or TCP without TLS close_notify).
        case end
        case failed(String)
    }

    let upstream: ProxyUpstream
    let loop: EventLoop
    let token: UInt64
    /// `host:port`, for messages.
    let peer: String
    // The mutable state below is not checked for exclusivity at run time: only the loop's
    // thread touches it (it belongs to one loop), and no access overlaps another (the checks, on in every
    // other build of this code, pass the whole suite). Each check was a runtime call, and a
    // proxied request made about a hundred of them (callgrind).
    @exclusivity(unchecked) private(set) var phase = Phase.resolving
    @exclusivity(unchecked) private var descriptor: FileDescriptor?
    var fd: Int32 { descriptor?.rawValue ?? -1 }
    @exclusivity(unchecked) private var tls: TLSSession?
    private let tlsContext: TLSClientContext?
    @exclusivity(unchecked) private var addresses: [SocketAddress] = []
    @exclusivity(unchecked) private var lastErrno: Int32 = ECONNREFUSED
    /// Who is told about readiness; nil while pooled, and once closed.
    ///
    /// Unmanaged: neither `weak` nor `unowned`. A weak reference's store and load were runtime
    /// calls through the owner's side table, and an `unowned` one cost an atomic unowned
    /// retain per store and release per clear, and an atomic strong retain and release around
    /// every call to the owner (five atomic instructions per proxied request, callgrind).
    /// This one costs none: calls go through `_withUnsafeGuaranteedRef`.
    ///
    /// Sound because the owner outlives every use here: a `ProxyConnection` holds the
    /// connections it owns (its exchange's or tunnel's) and closes them in `close()`, before
    /// the loop lets it go (it stays registered until then); `close()` clears this reference
    /// (`fail` keeps it for the one report it makes right then, still inside its owner's
    /// call or its own event), so a closed connection can no longer reach its owner; a
    /// connection given back to the pool has it cleared first (`UpstreamPool.release`). The
    /// only other way in, the resolver's completion, holds the owner itself and compares
    /// identities (`isOwned(by:)`) before touching the connection.
    @exclusivity(unchecked) private var ownerReference: Unmanaged<ProxyConnection>?

    /// Whether a client connection uses it (false while pooled or closed).
    var hasOwner: Bool { ownerReference != nil }

    /// Makes `owner` the one told about readiness (see `ownerReference`).
    func setOwner(_ owner: ProxyConnection) {
        ownerReference = Unmanaged.passUnretained(owner)
    }

    /// Tells no one any more (pooled).
    func clearOwner() { ownerReference = nil }

    /// Whether `connection` is the owner (an identity comparison, no reference taken).
    func isOwned(by connection: ProxyConnection) -> Bool {
        ownerReference?.toOpaque() == Unmanaged.passUnretained(connection).toOpaque()
    }

    /// Calls `body` with the owner, borrowed (no retain; see `ownerReference`), if any.
    @inline(__always)
    private func withOwner(
        _ reference: Unmanaged<ProxyConnection>?, _ body: (ProxyConnection) -> Void
    ) {
        // Unsafe only in that nothing retains the owner for the call: sound as said above.
        reference?._withUnsafeGuaranteedRef(body)
    }
    /// The response side: parses what the upstream sends.
    @exclusivity(unchecked) var parser = HTTPParser(
        mode: .response, limits: HTTPLimits(maxBodyBytes: .max))
    /// Whether the parser holds nothing (the response ended exactly). Through an `inout`
    /// access: reading `parser.isIdle` off the class copied the whole parser (a retain and a
    /// release per stored reference, ~300 instructions per request).
    var parserIsIdle: Bool { Self.isIdle(&parser) }

    private static func isIdle(_ parser: inout HTTPParser) -> Bool { parser.isIdle }

    /// The request side: bytes not yet taken by the socket.
    @exclusivity(unchecked) var output = ProxyOutputQueue()
    /// The owner reads now (epoll reports readability).
    @exclusivity(unchecked) var reading = false
    /// A TLS read needs the socket writable first, or a TLS write needs it readable.
    @exclusivity(unchecked) private var readWantsWrite = false
    /// The last TLS read found the socket empty: what OpenSSL still holds (read ahead) is part
    /// of a record, which cannot be read before more bytes come, and epoll announces those.
    @exclusivity(unchecked) private var tlsStarved = false
    @exclusivity(unchecked) private var writeWantsRead = false
    @exclusivity(unchecked) private var watched: UInt32?
    /// When the pool took it (`EventLoop.now()`), and when it expires there.
    @exclusivity(unchecked) var idleSince: UInt64?
    @exclusivity(unchecked) var idleDeadline: UInt64?
    /// Exchanges it carried before the current one (a reused connection may meet the race
    /// with the upstream's idle close).
    @exclusivity(unchecked) var exchanges = 0
    /// Whether a response byte of the current exchange arrived.
    @exclusivity(unchecked) var receivedResponseBytes = false
    /// Whether the current exchange ended cleanly with both sides allowing reuse.
    @exclusivity(unchecked) var reusable = false
    /// The pool holding it while it idles there, told when it closes (by expiry or the peer)
    /// to forget it; nil otherwise. Not a closure stored per release (a retain, and a release
    /// when cleared, per request): a plain reference with no counting. Sound because the pool
    /// sets it only while the connection is in its lists, which the pool owns, and clears it
    /// when it hands the connection out (`acquire`), closes its connections (`closeAll`) and
    /// when it goes away (its `deinit` closes them all).
    @exclusivity(unchecked) unowned(unsafe) var idlePool: UpstreamPool?

    init(upstream: ProxyUpstream, tls: TLSClientContext?, loop: EventLoop, token: UInt64) {
        self.upstream = upstream
        self.tlsContext = tls
        self.loop = loop
        self.token = token
        self.peer = SocketAddress.displayName(host: upstream.host, port: upstream.port)
    }

    /// Starts connecting to `addresses` in order; the owner hears `upstreamConnected`.
    func connect(to addresses: [SocketAddress]) {
        guard phase == .resolving else { return }
        self.addresses = addresses
        loop.register(self, token: token)
        phase = .connecting
        tryNextAddress()
    }

    /// Resolution failed: report it (the connection was never registered).
    func resolutionFailed(_ error: NetError) {
        guard phase == .resolving else { return }
        phase = .closed
        withOwner(ownerReference) { $0.upstreamConnected(self, failure: error) }
    }

    private func tryNextAddress() {
        while !addresses.isEmpty {
            let address = addresses.removeFirst()
            do {
                descriptor = try Posix.socket(
                    family: address.family, type: Int32(SOCK_STREAM.rawValue),
                    protocol: address.socketProtocol)
                try Posix.setSocketOption(
                    fd, level: Int32(IPPROTO_TCP), option: TCP_NODELAY, value: 1)
                try Posix.setSocketOption(fd, level: SOL_SOCKET, option: SO_KEEPALIVE, value: 1)
            } catch {
                lastErrno = error.errno
                dropSocket()
                continue
            }
            let fd = self.fd
            let attempt = address.withSockAddr { pointer, length in
                Result { () throws(PosixError) in try Posix.connect(fd, pointer, length) }
            }
            switch attempt {
            case .failure(let error):
                lastErrno = error.errno
                dropSocket()
            case .success(.done):
                connected()
                return
            case .success(.wouldBlock):
                // EINPROGRESS: writable means the attempt finished; SO_ERROR says how.
                watch(Epoll.output)
                return
            }
        }
        fail(.connect(host: upstream.host, port: upstream.port, errno: lastErrno))
    }

    /// Closes a socket whose connect failed (the next address gets a new one).
    private func dropSocket() {
        guard let descriptor = descriptor.take() else { return }
        try? loop.watch(fd: descriptor.rawValue, token: token, events: nil, previous: watched)
        watched = nil
        try? descriptor.close()
    }

    /// The TCP connection is up: TLS next for https, else ready.
    private func connected() {
        guard let tlsContext, upstream.scheme == "https" else {
            becomeReady()
            return
        }
        do {
            tls = try TLSSession(
                context: tlsContext, fileDescriptor: fd, serverName: upstream.host,
                port: upstream.port)
        } catch {
            fail(NetError(error, peer: peer))
            return
        }
        phase = .handshaking
        handshake()
    }

    private func handshake() {
        guard let tls else { return }
        switch tls.handshake() {
        case .done: becomeReady()
        case .wantRead: watch(Epoll.input)
        case .wantWrite: watch(Epoll.output)
        case .failed(let error): fail(NetError(error, peer: peer))
        case .closed, .closedWithoutCloseNotify: fail(.connectionClosed(peer: peer))
        }
    }

    private func becomeReady() {
        phase = .ready
        updateInterest()
        withOwner(ownerReference) { $0.upstreamConnected(self, failure: nil) }
    }

    private func fail(_ error: NetError) {
        // Taken before `close()` clears it: the owner hears this failure, nothing after.
        let owner = ownerReference
        close()
        withOwner(owner) { $0.upstreamConnected(self, failure: error) }
    }

    /// Reads what the socket has into `buffer` (decrypting for TLS).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        guard phase == .ready else { return .failed("connection closed") }
        if let tls {
            readWantsWrite = false
            tlsStarved = false
            switch tls.read(into: buffer) {
            case .done(let count): return .bytes(count)
            case .wantRead:
                tlsStarved = true
                return .wouldBlock
            case .wantWrite:
                readWantsWrite = true
                updateInterest()
                return .wouldBlock
            case .closed, .closedWithoutCloseNotify: return .end
            case .failed(let error): return .failed("\(NetError(error, peer: peer))")
            }
        }
        switch SocketRead.receive(fd, into: buffer) {
        case .bytes(let count): return .bytes(count)
        case .end: return .end
        case .wouldBlock: return .wouldBlock
        case .failed: return .failed("\(peer) reset the connection")
        }
    }

    /// Sends what the socket takes of `output`. Returns false when the connection failed.
    func flush() -> Bool {
        guard phase == .ready else { return false }
        var failed = false
        while !output.isEmpty && !failed {
            var progress = false
            output.send { bytes in
                if let tls {
                    writeWantsRead = false
                    switch tls.write(bytes) {
                    case .done(let count):
                        progress = true
                        return count
                    case .wantRead: writeWantsRead = true
                    case .wantWrite: break
                    case .closed, .closedWithoutCloseNotify, .failed: failed = true
                    }
                    return 0
                }
                switch try? Posix.send(fd, bytes) {
                case .done(let count)?:
                    progress = count > 0
                    return count
                case .wouldBlock?: return 0
                case nil:
                    failed = true
                    return 0
                }
            }
            if !progress { break }
        }
        updateInterest()
        return !failed
    }

    /// Says the upstream should send its segments' ACKs at once (`Posix.setQuickAck`); best
    /// effort, before each response is awaited.
    func acknowledgeQuickly() {
        guard fd >= 0 else { return }
        try? Posix.setQuickAck(fd)
    }

    /// Whether TLS holds bytes (decrypted, or read ahead) that no epoll event will announce and
    /// a read may use now. Not after a read found the socket empty: the rest is a partial
    /// record, and reading again at once would spin until the socket brings the remainder.
    var hasBufferedInput: Bool { !tlsStarved && (tls?.hasBufferedData ?? false) }

    /// Whether a pooled connection heard from its peer while idle (its close, or bytes nobody
    /// asked for): it must not be reused. A TLS 1.3 session ticket is consumed and is no reason.
    func heardWhileIdle() -> Bool {
        guard fd >= 0 else { return true }
        // TLS may hold bytes it read ahead, which the socket no longer shows.
        guard hasBufferedInput || Poll.isReadableOrClosed(fd: fd) else { return false }
        guard let tls else { return true }
        switch tls.peek() {
        case .wantRead, .wantWrite: return false
        default: return true
        }
    }

    /// Tells epoll what the connection waits for now.
    func updateInterest() {
        guard phase == .ready else { return }
        var events: UInt32 = 0
        // A pooled connection listens for its peer's close.
        if (reading && !readWantsWrite) || writeWantsRead || ownerReference == nil {
            events |= Epoll.input
        }
        if (!output.isEmpty && !writeWantsRead) || readWantsWrite { events |= Epoll.output }
        watch(events == 0 ? nil : events)
    }

    private func watch(_ events: UInt32?) {
        // Unchanged (the usual case): no call (see `ProxyConnection.syncClientInterest`).
        if events == watched { return }
        let fd = self.fd
        guard fd >= 0 else { return }
        do {
            try loop.watch(fd: fd, token: token, events: events, previous: watched)
            watched = events
        } catch {
            // Out of kernel memory for epoll: this connection cannot be used.
            close()
        }
    }

    /// Sends close_notify for TLS (without waiting), leaves epoll and closes the socket.
    func close() {
        guard phase != .closed else { return }
        let wasIdle = idleSince != nil
        phase = .closed
        tls?.shutdown()
        tls = nil
        if let descriptor = descriptor.take() {
            try? loop.watch(fd: descriptor.rawValue, token: token, events: nil, previous: watched)
            try? descriptor.close()
        }
        watched = nil
        loop.deregister(token: token)
        output.removeAll()
        ownerReference = nil
        if wasIdle {
            idleSince = nil
            idleDeadline = nil
            if let pool = idlePool {
                idlePool = nil
                pool.forget(self)
            }
        }
    }
}

extension UpstreamConnection: EventLoopClient {
    func handleEvents(_ events: UInt32) {
        switch phase {
        case .connecting:
            let error =
                (try? Posix.socketOption(fd, level: SOL_SOCKET, option: SO_ERROR)) ?? ECONNREFUSED
            if error == 0 {
                connected()
            } else {
                lastErrno = error
                dropSocket()
                tryNextAddress()
            }
        case .handshaking:
            handshake()
        case .ready:
            if let owner = ownerReference {
                withOwner(owner) { $0.upstreamReady(self) }
            } else if heardWhileIdle() {
                // Pooled: the peer closed or said something unasked for.
                close()
            }
        case .resolving, .closed:
            break
        }
    }

    var deadline: UInt64? { idleDeadline }

    func deadlinePassed(now: UInt64) {
        close()
    }

    func loopStopped() {
        close()
    }
}
