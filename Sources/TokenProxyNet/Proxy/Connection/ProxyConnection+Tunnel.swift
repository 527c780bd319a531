import Glibc
import TokenProxyCore
import TokenProxyPosix

/// Tunnels: CONNECT to an allow-listed `host:port` (no token), and a connection after
/// `101 Switching Protocols` — bytes relayed untouched both ways on the loop, each direction
/// read only while the other side takes what is queued (the same bound as bodies).
///
/// When one side ends its stream, the end is passed on with a half close and the other
/// direction keeps going, as long as both sockets are plain; a TLS upstream cannot be half
/// closed, so its tunnel ends with either side. A tunnel with no traffic for `idleTimeout`
/// ends too.
extension ProxyConnection {
    static let connectionEstablished = Array("HTTP/1.1 200 Connection Established\r\n\r\n".utf8)

    struct Tunnel {
        let upstream: UpstreamConnection
        let head: HTTPRequestHead
        let route: String
        let start: UInt64
        /// 200 (CONNECT) or 101.
        let status: Int
        let retried: Bool
        /// TLS to the upstream: no half close.
        let isTLS: Bool
        var connected: Bool
        var clientOpen = true
        var upstreamOpen = true
        var upstreamWriteShut = false
        var clientWriteShut = false
    }

    /// `.openTunnel`: connect to the CONNECT target; `clientBytes` arrived after the head and
    /// are the tunnel's first.
    func openTunnel(clientBytes: [UInt8]) {
        guard let current, let head = current.head, let (host, port) = tunnelTarget.take() else {
            return
        }
        let upstream = UpstreamConnection(
            upstream: ProxyUpstream(scheme: "tcp", host: host, port: port), tls: nil, loop: loop,
            token: context.nextUpstreamToken())
        upstream.setOwner(self)
        upstream.output.append(clientBytes)
        tunnel = Tunnel(
            upstream: upstream, head: head, route: current.route, start: current.start,
            status: 200, retried: false, isTLS: false, connected: false)
        self.current = nil
        upstreamWait = .connect
        upstreamDeadline = deadline(in: context.timeouts.connect)
        resolve(upstream)
    }

    func tunnelConnected(failure: NetError?) {
        guard let tunnel else { return }
        if let failure {
            self.tunnel = nil
            upstreamDeadline = nil
            fail(
                ProxyEngineError.connecting(failure, route: tunnel.route, upstream: tunnel.route),
                head: tunnel.head, route: tunnel.route, close: true, start: tunnel.start)
            return
        }
        self.tunnel?.connected = true
        output.append(Self.connectionEstablished)
        startRelay()
    }

    /// After a 101 to an upgrade request: relay bytes both ways until either side closes.
    func switchProtocols(
        _ head: HTTPResponseHead, upstream: UpstreamConnection, clientBytes: [UInt8]
    ) {
        guard let exchange else { return }
        output.append(
            ProxyHeaders.clientResponse(
                head, framing: .none, connection: .upgrade, via: configuration.via))
        // The parser still owes the 101's end, after which it hands over the bytes that
        // followed it (the upgraded protocol's first bytes).
        _ = try? upstream.parser.next()
        output.append(upstream.parser.takeRemainingBytes())
        upstream.output.append(clientBytes)
        self.exchange = nil
        current = nil
        tunnel = Tunnel(
            upstream: upstream, head: exchange.head, route: exchange.route,
            start: exchange.start, status: 101, retried: exchange.retried,
            isTLS: exchange.forward.upstream.scheme == "https", connected: true)
        startRelay()
    }

    private func startRelay() {
        guard let tunnel else { return }
        upstreamWait = .tunnelIdle
        upstreamDeadline = deadline(in: context.timeouts.idle)
        tunnel.upstream.reading = true
        clientReading = true
        flushClient()
        tunnelUpstreamReady()
    }

    /// Bytes from the client: on to the upstream.
    func tunnelClientBytes(_ bytes: UnsafeRawBufferPointer) {
        guard let upstream = tunnel?.upstream else { return }
        upstream.output.append(bytes)
        noteBuffered(upstream.output.count)
        upstreamDeadline = deadline(in: context.timeouts.idle)
        guard upstream.flush() else {
            endTunnel(failure: "tunnel ended: the upstream stopped taking bytes")
            return
        }
        if !upstream.output.acceptsMore { clientReading = false }
    }

    /// The client ended its stream: half close toward the upstream once it has everything.
    func tunnelClientEnded() {
        clientReading = false
        tunnel?.clientOpen = false
        guard let tunnel else { return }
        if tunnel.isTLS || !tunnel.upstreamOpen {
            endTunnel(failure: nil)
            return
        }
        shutUpstreamWriteIfDone()
    }

    private func shutUpstreamWriteIfDone() {
        guard let tunnel, !tunnel.clientOpen, !tunnel.upstreamWriteShut,
            tunnel.upstream.output.isEmpty
        else { return }
        self.tunnel?.upstreamWriteShut = true
        try? Posix.shutdown(tunnel.upstream.fd, how: Int32(SHUT_WR))
    }

    /// The upstream socket is ready: send what the client sent, read what it has.
    func tunnelUpstreamReady() {
        guard let tunnel else { return }
        let upstream = tunnel.upstream
        if !upstream.flush() {
            endTunnel(failure: "tunnel ended: the upstream stopped taking bytes")
            return
        }
        shutUpstreamWriteIfDone()
        if tunnel.clientOpen && upstream.output.acceptsMore { clientReading = true }
        var rounds = 0
        while upstream.reading && isTunnelling && rounds < Limits.Proxy.readsPerEvent {
            rounds += 1
            let buffer = context.readBuffer
            switch upstream.read(into: buffer) {
            case .bytes(let count):
                output.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                noteBuffered(output.count)
                upstreamDeadline = deadline(in: context.timeouts.idle)
                if !output.acceptsMore {
                    flushClient()
                    if !output.acceptsMore { upstream.reading = false }
                }
                if count < buffer.count && !upstream.hasBufferedInput { rounds = .max }
            case .wouldBlock:
                rounds = .max
            case .end:
                upstream.reading = false
                self.tunnel?.upstreamOpen = false
                if tunnel.isTLS || !tunnel.clientOpen {
                    endTunnel(failure: nil)
                    return
                }
            case .failed(let detail):
                endTunnel(failure: "tunnel ended: \(detail)")
                return
            }
        }
        upstream.updateInterest()
        flushClient()
        drainTLSLater(upstream)
    }

    /// Bytes OpenSSL already holds decrypted (`SSL_pending`) are announced by no epoll event:
    /// when the upstream is to be read and some wait there (the read rounds ran out, or a
    /// pause for backpressure ended), the next pass is queued on the loop instead of waiting
    /// for the socket, which may stay silent for good.
    func drainTLSLater(_ upstream: UpstreamConnection) {
        guard upstream.reading, upstream.hasBufferedInput else { return }
        loop.execute { [self] in
            guard !isClosed else { return }
            if tunnel?.upstream === upstream {
                tunnelUpstreamReady()
            } else if exchange?.upstream === upstream {
                pumpUpstream(upstream)
            }
            syncClientInterest()
        }
    }

    /// The client took everything queued: read the upstream again, or pass its end on.
    func tunnelClientDrained() {
        guard let tunnel else { return }
        if tunnel.upstreamOpen {
            if !tunnel.upstream.reading {
                tunnel.upstream.reading = true
                tunnel.upstream.updateInterest()
                drainTLSLater(tunnel.upstream)
            }
            return
        }
        if !tunnel.clientWriteShut {
            self.tunnel?.clientWriteShut = true
            try? Posix.shutdown(fd, how: Int32(SHUT_WR))
        }
        if !tunnel.clientOpen { endTunnel(failure: nil) }
    }

    func tunnelTimedOut() {
        guard let tunnel else { return }
        if !tunnel.connected {
            tunnelConnected(failure: .timedOut(operation: "connect to \(tunnel.route)"))
        } else {
            endTunnel(failure: "tunnel idle for \(configuration.idleTimeout)")
        }
    }

    /// Reports the tunnel and closes both sides once the client has what was queued.
    func endTunnel(failure: String?) {
        guard let tunnel else { return }
        self.tunnel = nil
        upstreamDeadline = nil
        tunnel.upstream.close()
        report(
            tunnel.head, route: tunnel.route, status: tunnel.status, failure: failure,
            retried: tunnel.retried, start: tunnel.start)
        machine.closed()
        clientReading = false
        _ = finishAfterFlush(.close)
    }
}
