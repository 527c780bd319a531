import TokenProxyCore

/// `.tunnel`: CONNECT to an allow-listed `host:port`, relayed untouched (no token).
extension ProxyConnection {
    static let connectionEstablished = Array("HTTP/1.1 200 Connection Established\r\n\r\n".utf8)

    /// Connects to `host:port`, says 200 and relays until either side closes. `clientBytes`
    /// arrived after the CONNECT head and are the tunnel's first.
    func tunnel(_ current: Current, host: String, port: Int, clientBytes early: [UInt8]) {
        let (head, route, start) = (current.head, current.route, current.start)
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
        let totals = TunnelRelay.relay(
            client: client, upstream: upstream, clientBytes: early, upstreamBytes: [],
            buffer: readBuffer, idleTimeout: configuration.idleTimeout)
        report(head, route: route, status: 200, failure: totals.failure, start: start)
    }
}
