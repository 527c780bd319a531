import TokenProxyCore

/// The proxy's idle upstream connections, keyed by `ProxyUpstream` (scheme, host, port and TLS
/// profile, so routes with different trust settings never share a connection). A connection
/// is given back only if its exchange completed cleanly.
typealias ProxyUpstreamPool = ConnectionPool<ProxyUpstream, ProxyUpstreamConnection>

extension ConnectionPool where Key == ProxyUpstream, Connection == ProxyUpstreamConnection {
    /// Gives a connection back under its own upstream.
    func release(_ connection: ProxyUpstreamConnection) {
        release(connection, key: connection.upstream)
    }
}

/// One upstream connection as the proxy drives it: an `HTTPClientConnection` over a
/// `FlushingStream`, owned by one client connection thread at a time (or by the pool).
final class ProxyUpstreamConnection: PooledConnection, @unchecked Sendable {
    // @unchecked: used by one thread at a time; the pool's lock hands it over.
    let upstream: ProxyUpstream
    let stream: FlushingStream
    let http: HTTPClientConnection
    /// The TCP socket under the stream (also under TLS), for `TCP_QUICKACK`; nil when
    /// `quickAck` is off or the stream is no socket (tests).
    private let socket: SocketStream?

    init(upstream: ProxyUpstream, stream: any ByteStream, peer: String, quickAck: Bool = true) {
        self.upstream = upstream
        self.stream = FlushingStream(stream)
        self.socket =
            quickAck ? (stream as? SocketStream) ?? (stream as? TLSStream)?.socket : nil
        // The proxy streams bodies of any size; head limits stay at their defaults.
        self.http = HTTPClientConnection(
            stream: self.stream, peer: peer, limits: HTTPLimits(maxBodyBytes: .max))
    }

    /// A new connection for `forward`: TCP, then TLS for `https` with the route's context.
    /// Throws `ProxyEngineError` (already classified into 502/504).
    static func connect(
        _ forward: ProxyForward, deadline: ContinuousClock.Instant, quickAck: Bool = true
    ) throws(ProxyEngineError) -> ProxyUpstreamConnection {
        let upstream = forward.upstream
        let name = upstream.description
        switch upstream.scheme {
        case "http":
            break
        case "https" where forward.tls == nil:
            throw ProxyEngineError.tlsFailed(
                route: forward.routeName, upstream: name,
                detail: "no TLS settings for an https upstream (a routing bug)")
        case "https":
            break
        default:
            throw ProxyEngineError.upstreamUnreachable(
                route: forward.routeName, upstream: name,
                detail: "unsupported scheme '\(upstream.scheme)'")
        }
        do {
            let stream = try HTTPClientTransport.system(tls: forward.tls).open(
                host: upstream.host, port: upstream.port,
                tlsServerName: upstream.scheme == "https" ? upstream.host : nil,
                deadline: deadline)
            return ProxyUpstreamConnection(
                upstream: upstream, stream: stream,
                peer: SocketAddress.displayName(host: upstream.host, port: upstream.port),
                quickAck: quickAck)
        } catch {
            throw ProxyEngineError.connecting(error, route: forward.routeName, upstream: name)
        }
    }

    /// Reads the response head to the request just written. `TCP_QUICKACK` first: many
    /// upstreams write the head and the body in two small segments with Nagle on, and the
    /// body waits for our ACK of the head, which Linux would delay ~40 ms on a reused
    /// connection (see `Posix.setQuickAck`). Set anew for every response: it is not sticky.
    func readResponseHead(deadline: ContinuousClock.Instant) throws -> HTTPResponseHead {
        socket?.acknowledgeQuickly()
        return try http.readResponseHead(deadline: deadline)
    }

    var isReusable: Bool { http.isReusable }
    var receivedResponseBytes: Bool { http.receivedResponseBytes }
    func isStale() -> Bool { http.isStale() }
    func close() { http.close() }

    /// The pool must not keep the last client connection's flush alive.
    func parked() {
        stream.beforeRead = nil
    }

    /// Passes reads and writes through, running `beforeRead` before every read.
    ///
    /// The proxy collects what it sends to the client (a response head, small body pieces) and
    /// writes it in one call; the one moment it must write what it holds is before it may
    /// block waiting for the upstream, which is exactly a read here. So a small response costs
    /// one write, and a slow streaming upstream never holds back bytes already received.
    final class FlushingStream: ByteStream, @unchecked Sendable {
        // @unchecked: `beforeRead` is set and used by the one thread driving the connection.
        let inner: any ByteStream
        var beforeRead: (() throws -> Void)?

        init(_ inner: any ByteStream) {
            self.inner = inner
        }

        func read(maxLength: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
            if let beforeRead { try beforeRead() }
            return try inner.read(maxLength: maxLength, deadline: deadline)
        }

        func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
            try inner.write(bytes, deadline: deadline)
        }

        func close() {
            inner.close()
        }
    }
}
