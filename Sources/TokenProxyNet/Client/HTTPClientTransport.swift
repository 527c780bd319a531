import TokenProxyCrypto

/// How outgoing connections are opened: TCP connect, then TLS over it. Production uses
/// `system(tls:)` (`SocketStream` and `TLSStream`); tests substitute scripted in-memory streams
/// to exercise pooling, retries and proxy tunnels without a network. Both the IdP client and
/// the proxy's upstream connections open theirs with `open`.
package struct HTTPClientTransport: Sendable {
    /// Opens a TCP connection to `host:port` (host without brackets) before `deadline`.
    package var connect:
        @Sendable (_ host: String, _ port: Int, _ deadline: ContinuousClock.Instant) throws ->
            any ByteStream
    /// Runs a TLS handshake over `stream` for `serverName` (SNI and certificate name).
    package var startTLS:
        @Sendable (
            _ stream: any ByteStream, _ serverName: String, _ deadline: ContinuousClock.Instant
        )
            throws ->
            any ByteStream

    package init(
        connect:
            @escaping @Sendable (String, Int, ContinuousClock.Instant) throws -> any ByteStream,
        startTLS:
            @escaping @Sendable (any ByteStream, String, ContinuousClock.Instant) throws ->
            any ByteStream
    ) {
        self.connect = connect
        self.startTLS = startTLS
    }

    /// Real sockets and OpenSSL, with `context` built once per client (or per proxy route);
    /// without a context, TLS fails.
    package static func system(tls context: TLSClientContext?) -> HTTPClientTransport {
        HTTPClientTransport(
            connect: { host, port, deadline in
                try SocketStream.connect(host: host, port: port, deadline: deadline)
            },
            startTLS: { stream, serverName, deadline in
                guard let socket = stream as? SocketStream else {
                    preconditionFailure("TLS over a stream that is not a SocketStream")
                }
                guard let context else {
                    throw NetError.tls(host: serverName, detail: "no TLS settings for this peer")
                }
                return try TLSStream.connect(
                    over: socket, serverName: serverName, context: context, deadline: deadline)
            })
    }

    /// Opens a connection to `host:port` before `deadline`: TCP, then `prepare` on the plain
    /// stream if given (a proxy's CONNECT tunnel), then a TLS handshake for `tlsServerName`
    /// when it is set. The one deadline covers all of it, like curl's `--connect-timeout`.
    /// The TCP stream is closed if a later step fails.
    func open(
        host: String, port: Int, tlsServerName: String?, deadline: ContinuousClock.Instant,
        prepare: ((any ByteStream) throws -> Void)? = nil
    ) throws -> any ByteStream {
        let stream = try self.connect(host, port, deadline)
        do {
            try prepare?(stream)
            guard let tlsServerName else { return stream }
            return try startTLS(stream, tlsServerName, deadline)
        } catch {
            stream.close()
            throw error
        }
    }
}
