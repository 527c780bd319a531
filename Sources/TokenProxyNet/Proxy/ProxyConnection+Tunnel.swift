import TokenProxyCore

/// `.tunnel`: CONNECT to an allow-listed `host:port`, relayed untouched (no token).
extension ProxyConnection {
    static let connectionEstablished = Array("HTTP/1.1 200 Connection Established\r\n\r\n".utf8)

    func tunnel(_ head: HTTPRequestHead, host: String, port: Int, start: ContinuousClock.Instant) {
        let route = SocketAddress.displayName(host: host, port: port)
        guard head.method == "CONNECT", !hasBody(head) else {
            _ = fail(
                .invalidTunnelRequest(route: route), head: head, route: route, close: true,
                start: start)
            return
        }
        _ = try? nextBodyPiece()  // the CONNECT request's end, already parsed
        let early = parser.takeRemainingBytes()
        let upstream: SocketStream
        do {
            upstream = try SocketStream.connect(
                host: host, port: port, deadline: .now + configuration.connectTimeout)
        } catch {
            _ = fail(
                ProxyEngineError.connecting(error, route: route, upstream: route), head: head,
                route: route, close: true, start: start)
            return
        }
        setUpstream(upstream)
        defer {
            upstream.close()
            setUpstream(nil)
        }
        output += Self.connectionEstablished
        do {
            try flushOutput()
        } catch {
            report(head, route: route, status: 200, failure: "client went away", start: start)
            return
        }
        let totals = ProxyTunnel.relay(
            client: client, upstream: upstream, clientBytes: early, upstreamBytes: [],
            buffer: readBuffer, idleTimeout: configuration.idleTimeout)
        report(head, route: route, status: 200, failure: totals.failure, start: start)
    }
}
