import TokenProxyCrypto

/// How `HTTPClient` opens byte streams: TCP connect, then TLS over it. Production uses
/// `system(tls:)` (`SocketStream` and `TLSStream`); tests substitute scripted in-memory streams
/// to exercise pooling, retries and proxy tunnels without a network.
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

    /// Real sockets and OpenSSL, with `context` built once per client.
    package static func system(tls context: TLSClientContext) -> HTTPClientTransport {
        HTTPClientTransport(
            connect: { host, port, deadline in
                try SocketStream.connect(host: host, port: port, deadline: deadline)
            },
            startTLS: { stream, serverName, deadline in
                guard let socket = stream as? SocketStream else {
                    preconditionFailure("TLS over a stream that is not a SocketStream")
                }
                return try TLSStream.connect(
                    over: socket, serverName: serverName, context: context, deadline: deadline)
            })
    }
}
