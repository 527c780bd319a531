import TokenProxyCore

/// Timeouts and limits of a `ProxyEngine`. The daemon maps `ProxyConfiguration` onto it; the
/// defaults match that configuration's defaults.
package struct ProxyEngineConfiguration: Sendable, Equatable {
    /// Bounds on client request heads. `maxBodyBytes` applies to request bodies, which are
    /// streamed, so it defaults to unlimited.
    package var limits: HTTPLimits
    /// The whole request head must arrive within this, counted from its first byte (or from
    /// accepting the connection, for the first request): a slowloris bound.
    package var headerReadTimeout: Duration
    /// A keep-alive client connection idle this long between requests is closed, as is a
    /// pooled upstream connection. It also bounds a stall while moving body bytes.
    package var idleTimeout: Duration
    /// Connecting to an upstream (TCP and TLS handshake).
    package var connectTimeout: Duration
    /// Waiting for the upstream's response head after the request was sent, and for each
    /// further piece of its body.
    package var responseTimeout: Duration
    /// Request bodies up to this size are read before forwarding so that the request can be
    /// replayed once after a 401; larger ones stream through and are never replayed.
    package var maxReplayBodyBytes: Int
    /// Client connections open at once; the next one is answered 503 and closed.
    package var maxConnections: Int
    /// Idle keep-alive connections kept per upstream.
    package var maxIdleUpstreamConnections: Int
    /// Our entry in `Via` (RFC 9110 §7.6.3), on requests and responses.
    package var via: String
    /// Set `TCP_QUICKACK` on an upstream socket when part of a response arrived and the rest
    /// is still to come (see `ProxyConnection.acknowledgeIfMidResponse`). Off only to measure
    /// what it saves (`bench/quickack.sh`).
    package var upstreamQuickAck: Bool
    /// The size of each loop's read buffer (one read of a client or upstream socket, one TLS
    /// record's decrypted bytes at most). Tests make it small to leave bytes inside OpenSSL.
    package var relayBufferBytes = Limits.Proxy.relayBufferBytes

    package init(
        limits: HTTPLimits = HTTPLimits(maxBodyBytes: .max),
        headerReadTimeout: Duration = Limits.Proxy.headerReadTimeout,
        idleTimeout: Duration = Limits.Proxy.idleTimeout,
        connectTimeout: Duration = Limits.Proxy.connectTimeout,
        responseTimeout: Duration = Limits.Proxy.responseTimeout,
        maxReplayBodyBytes: Int = 64 * 1024, maxConnections: Int = 1024,
        maxIdleUpstreamConnections: Int = 128, via: String = "1.1 tokenproxy",
        upstreamQuickAck: Bool = true
    ) {
        self.limits = limits
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
        self.maxReplayBodyBytes = maxReplayBodyBytes
        self.maxConnections = maxConnections
        self.maxIdleUpstreamConnections = maxIdleUpstreamConnections
        self.via = via
        self.upstreamQuickAck = upstreamQuickAck
    }
}
