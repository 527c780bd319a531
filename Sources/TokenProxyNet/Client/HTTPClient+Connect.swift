import TokenProxyCore

/// Opening connections: direct, through an HTTP proxy, and CONNECT tunnels for HTTPS.
extension HTTPClient {
    /// A new connection for `request`, established before `deadline` (the connect deadline
    /// covers TCP, the proxy's CONNECT answer and the TLS handshake, like curl's
    /// `--connect-timeout`).
    func connect(_ request: HTTPClientPreparedRequest, deadline: ContinuousClock.Instant) throws
        -> HTTPClientConnection
    {
        var limits = configuration.responseLimits
        limits.maxBodyBytes = .max  // the body bound is enforced (with a better error) by the reader
        let endpoint = request.proxy ?? request.origin
        let tunnel: ((any ByteStream) throws -> Void)? =
            if request.isTLS, let proxy = request.proxy {
                { stream in
                    try self.openTunnel(
                        through: proxy, over: stream, for: request, limits: limits,
                        deadline: deadline)
                }
            } else {
                nil
            }
        let stream = try Self.transportCall {
            try transport.open(
                host: endpoint.host, port: endpoint.port,
                tlsServerName: request.isTLS ? request.origin.host : nil, deadline: deadline,
                prepare: tunnel)
        }
        let peer =
            request.isTLS
            ? nil : request.proxy.map { "\(request.origin.display) via proxy \($0.display)" }
        return HTTPClientConnection(
            stream: stream, peer: peer ?? request.origin.display, limits: limits)
    }

    /// Asks the proxy for a tunnel with `CONNECT host:port HTTP/1.1` (RFC 9110 §9.3.6) and
    /// checks its answer; non-2xx is `proxyRefused`.
    private func openTunnel(
        through proxy: HTTPClientPreparedRequest.Endpoint, over stream: any ByteStream,
        for request: HTTPClientPreparedRequest, limits: HTTPLimits,
        deadline: ContinuousClock.Instant
    ) throws {
        let authority = request.origin.display
        var fields: HTTPFields = ["Host": authority]
        if !configuration.userAgent.isEmpty { fields.append("User-Agent", configuration.userAgent) }
        if let authorization = request.proxyAuthorization {
            fields.append("Proxy-Authorization", authorization.value)
        }
        let tunnel = HTTPClientConnection(
            stream: stream, peer: "proxy \(proxy.display)", limits: limits)
        let head = HTTPRequestHead(method: "CONNECT", target: authority, fields: fields)
        try tunnel.sendRequest(head, body: [], deadline: deadline)
        let response = try tunnel.readResponseHead(deadline: deadline)
        guard (200..<300).contains(response.status) else {
            throw HTTPClientError.proxyRefused(proxy: proxy.display, status: response.status)
        }
        try tunnel.finishTunnelSetup()
    }

    /// Runs a transport call, wrapping `NetError` into `HTTPClientError.transport`.
    static func transportCall<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as NetError {
            throw HTTPClientError.transport(error)
        }
    }
}
