import TokenProxyCore

extension ProxyUpstreamPool {
    /// One upstream connection as the proxy drives it: an `HTTPClientConnection` over a
    /// `FlushingStream`, owned by one client connection thread at a time (or by the pool).
    final class Connection: @unchecked Sendable {
        // @unchecked: used by one thread at a time; the pool's lock hands it over.
        let upstream: ProxyUpstream
        let stream: FlushingStream
        let http: HTTPClientConnection
        /// Whether it came from the pool (a failure before any response byte may then be the
        /// upstream having closed it while idle, and a replayable request is sent again).
        var reused = false

        init(upstream: ProxyUpstream, stream: any ByteStream, peer: String) {
            self.upstream = upstream
            self.stream = FlushingStream(stream)
            // The proxy streams bodies of any size; head limits stay at their defaults.
            self.http = HTTPClientConnection(
                stream: self.stream, peer: peer, limits: HTTPLimits(maxBodyBytes: .max))
        }
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
