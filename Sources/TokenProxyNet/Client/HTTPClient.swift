import Dispatch
import FoundationEssentials
import Synchronization
import TokenProxyCore
import TokenProxyCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small HTTP/1.1 client for IdP token endpoints and similar: whole requests and responses in
/// memory, keep-alive connection reuse, HTTP proxies (absolute-form and CONNECT), TLS through
/// `TLSStream`.
///
/// Blocking I/O runs on a Dispatch queue of its own; `execute` suspends on a continuation, so
/// no Swift concurrency thread ever waits on a socket. Cancelling the calling task is noticed
/// between steps (before connecting, before sending), not inside a blocking read, which is
/// bounded by the deadlines instead.
package final class HTTPClient: Sendable {
    package let configuration: HTTPClientConfiguration
    let transport: HTTPClientTransport
    /// Idle keep-alive connections per (scheme, host, port, proxy).
    let pool: ConnectionPool<HTTPClientPreparedRequest.PoolKey, HTTPClientConnection>
    private let queue = DispatchQueue(label: "tokenproxy.http-client", attributes: .concurrent)

    /// Builds the TLS context once (loading CA files is slow, and errors in them surface here).
    package convenience init(configuration: HTTPClientConfiguration) throws {
        let context: TLSClientContext
        do {
            context = try TLSClientContext(configuration: configuration.tls)
        } catch {
            throw HTTPClientError.transport(NetError(error, peer: "(none)"))
        }
        self.init(configuration: configuration, transport: .system(tls: context))
    }

    /// A client over custom streams (tests, or a proxy that brings its own transport).
    package init(configuration: HTTPClientConfiguration, transport: HTTPClientTransport) {
        self.configuration = configuration
        self.transport = transport
        self.pool = ConnectionPool(
            maxIdlePerKey: configuration.maxIdleConnectionsPerHost,
            idleTimeout: configuration.idleConnectionTimeout)
    }

    /// Sends the request and buffers the response body (up to `maxResponseBodyBytes`, else
    /// `responseTooLarge`).
    ///
    /// Reuses idle keep-alive connections per (scheme, host, port, proxy). Before reusing one,
    /// it is polled for EOF (see `HTTPClientConnection.isStale()`), so a request is not written
    /// onto a connection the server already closed. If a reused connection still fails before
    /// any response byte, the request is retried once on a new connection when that is safe:
    /// the method is idempotent, or writing the request itself failed (the server had closed
    /// before it arrived). A POST whose write succeeded is never re-sent: the server may have
    /// acted on it.
    package func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let prepared = try prepare(request)
        try Task.checkCancellation()
        let start = ContinuousClock.now
        let deadline = start + configuration.totalTimeout
        let connectDeadline = min(start + configuration.connectTimeout, deadline)
        let cancellation = HTTPClientCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(
                        with: Result {
                            try self.perform(
                                prepared, connectDeadline: connectDeadline, deadline: deadline,
                                cancellation: cancellation)
                        })
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Closes idle connections; later `execute` calls fail with `shutDown`.
    package func shutdown() {
        pool.closeAll()
    }

    private func perform(
        _ request: HTTPClientPreparedRequest, connectDeadline: ContinuousClock.Instant,
        deadline: ContinuousClock.Instant, cancellation: HTTPClientCancellation
    ) throws -> HTTPClientResponse {
        try cancellation.check()
        guard !pool.isClosed else { throw HTTPClientError.shutDown }
        return try pool.withConnection(
            request.key,
            connect: { try connect(request, deadline: connectDeadline) },
            mayReplay: { error, connection in
                guard let error = error as? HTTPClientError, Self.isClosedConnection(error) else {
                    return false
                }
                return request.head.isIdempotent || !connection.requestWritten
            }
        ) { connection in
            try cancellation.check()
            return try exchange(request, on: connection, deadline: deadline)
        }
    }

    private func exchange(
        _ request: HTTPClientPreparedRequest, on connection: HTTPClientConnection,
        deadline: ContinuousClock.Instant
    ) throws -> HTTPClientResponse {
        try connection.sendRequest(request.head, body: request.body, deadline: deadline)
        let head = try connection.readResponseHead(deadline: deadline)
        let body = try connection.readResponseBody(
            head: head, limit: configuration.maxResponseBodyBytes, deadline: deadline)
        pool.release(connection, key: request.key)
        return HTTPClientResponse(status: head.status, headers: head.fields, body: body)
    }

    /// The failures that mean "the server closed this connection", as opposed to a timeout,
    /// a TLS problem or a bad response.
    static func isClosedConnection(_ error: HTTPClientError) -> Bool {
        switch error {
        case .transport(.connectionClosed):
            return true
        case .transport(.syscall(_, let code)):
            return code == EPIPE || code == ECONNRESET
        default:
            return false
        }
    }
}

/// Carries a task's cancellation into the blocking work on the client's queue, which checks it
/// between steps.
final class HTTPClientCancellation: Sendable {
    private let cancelled = Mutex(false)

    func cancel() { cancelled.withLock { $0 = true } }

    func check() throws {
        if cancelled.withLock({ $0 }) { throw CancellationError() }
    }
}

/// An IdP connection is pooled as it is.
extension HTTPClientConnection: PooledConnection {}
