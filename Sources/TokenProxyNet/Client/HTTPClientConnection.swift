import TokenProxyCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The client side of one HTTP/1.1 connection over any `ByteStream`: write a request head,
/// stream its body (Content-Length or chunked), read the response head, then pull the response
/// body piece by piece. `HTTPClient` buffers whole exchanges with it; a reverse proxy can
/// stream through it.
///
/// Calls block (they are `ByteStream` calls) and must run on a queue of our own. The type is not
/// thread-safe: one exchange at a time, driven from one thread at a time; it is `Sendable` only
/// so that ownership can move between queues and the connection pool.
package final class HTTPClientConnection: @unchecked Sendable {
    /// How the request body is being framed on the wire.
    enum RequestBody {
        case none
        case length(remaining: Int)
        case chunked
    }

    package let stream: any ByteStream
    /// The peer as `host:port` (the proxy when talking to one), for messages.
    package let peer: String
    var parser: HTTPParser
    var requestBody = RequestBody.none
    var requestKeepAlive = true
    var responseKeepAlive = true
    var requestFinished = true
    var responseFinished = true
    var failed = false
    var sawEndOfStream = false

    /// Whether any byte of the current response has arrived. A reused connection failing before
    /// that is the usual "server closed an idle connection" race, which is safe to retry.
    package internal(set) var receivedResponseBytes = false
    /// Whether the whole current request was handed to the stream. When writing fails, a
    /// reused connection was closed by the server before our request reached it (a write
    /// into a connection the peer already reset fails with EPIPE/ECONNRESET), so even a POST
    /// may be retried.
    package private(set) var requestWritten = false
    /// The trailers of the last chunked response, once its body was read to the end.
    package internal(set) var trailers = HTTPFields()

    /// Wraps a connected stream; `limits` bound response heads (and bodies, if the caller wants
    /// the parser to enforce its own bound).
    package init(
        stream: any ByteStream, peer: String, limits: HTTPLimits = HTTPLimits(maxBodyBytes: .max)
    ) {
        self.stream = stream
        self.peer = peer
        self.parser = HTTPParser(mode: .response, limits: limits)
    }

    /// Whether another request may be sent: the last exchange completed on both sides, both
    /// sides allow keep-alive, nothing unexpected is buffered and nothing failed.
    package var isReusable: Bool {
        !failed && requestFinished && responseFinished && requestKeepAlive && responseKeepAlive
            && parser.isIdle
    }

    /// Writes `head` and starts a new exchange. The body framing follows the head's fields:
    /// `Transfer-Encoding: chunked`, else `Content-Length`, else no body.
    package func writeRequestHead(_ head: HTTPRequestHead, deadline: ContinuousClock.Instant) throws
    {
        try beginRequest(head)
        try write(HTTPSerializer.requestHead(head), deadline: deadline)
        requestWritten = requestFinished
    }

    /// Writes `head` and a whole `body` in one write (one segment on the wire for small
    /// requests). The head must declare `Content-Length: body.count` (or no body when empty).
    package func sendRequest(
        _ head: HTTPRequestHead, body: [UInt8], deadline: ContinuousClock.Instant
    ) throws {
        try beginRequest(head)
        var bytes = HTTPSerializer.requestHead(head)
        if case .length(let declared) = requestBody, declared != body.count {
            throw HTTPClientError.bodyLengthMismatch(expected: declared, actual: body.count)
        } else if case .none = requestBody, !body.isEmpty {
            throw HTTPClientError.bodyLengthMismatch(expected: 0, actual: body.count)
        } else if case .chunked = requestBody {
            bytes += HTTPSerializer.chunk(body) + HTTPSerializer.lastChunk()
        } else {
            bytes += body
        }
        requestBody = .none
        requestFinished = true
        try write(bytes, deadline: deadline)
        requestWritten = true
    }

    /// Writes the next piece of the request body, chunk-framed when the head said so.
    package func writeRequestBody(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        guard !bytes.isEmpty else { return }
        switch requestBody {
        case .none:
            throw HTTPClientError.bodyLengthMismatch(expected: 0, actual: bytes.count)
        case .length(let remaining):
            guard bytes.count <= remaining else {
                throw HTTPClientError.bodyLengthMismatch(expected: remaining, actual: bytes.count)
            }
            requestBody = .length(remaining: remaining - bytes.count)
            try write(bytes, deadline: deadline)
        case .chunked:
            try write(HTTPSerializer.chunk(bytes), deadline: deadline)
        }
    }

    /// Ends the request body: the last chunk (with `trailers`) when chunked; a check that the
    /// declared length was sent otherwise.
    package func finishRequestBody(
        trailers: HTTPFields = HTTPFields(), deadline: ContinuousClock.Instant
    ) throws {
        switch requestBody {
        case .none:
            break
        case .length(let remaining):
            guard remaining == 0 else {
                failed = true
                throw HTTPClientError.bodyLengthMismatch(expected: remaining, actual: 0)
            }
        case .chunked:
            try write(HTTPSerializer.lastChunk(trailers: trailers), deadline: deadline)
        }
        requestBody = .none
        requestFinished = true
        requestWritten = true
    }

    /// Closes the stream. Idempotent.
    package func close() {
        failed = true
        stream.close()
    }

    /// Whether an idle pooled connection is already closed (or has unexpected bytes waiting):
    /// a read with an already-passed deadline polls it without blocking. Checked before
    /// reusing a connection, so a request is never written onto a connection the server has
    /// closed — what curl does before reusing one. A live idle connection has nothing to read
    /// and the read times out at once.
    package func isStale() -> Bool {
        do {
            _ = try stream.read(maxLength: 1, deadline: .now)
            return true  // end of stream, or bytes nobody asked for (such as a 408)
        } catch NetError.timedOut {
            return false
        } catch {
            return true
        }
    }

    private func beginRequest(_ head: HTTPRequestHead) throws {
        // A caller bug (or a pooled connection used twice); refusing beats corrupting framing.
        guard isReusable else { throw HTTPClientError.transport(.connectionClosed(peer: peer)) }
        receivedResponseBytes = false
        requestWritten = false
        responseFinished = false
        requestFinished = false
        trailers = HTTPFields()
        requestKeepAlive = head.keepAlive
        if head.fields.listContains("Transfer-Encoding", token: "chunked") {
            requestBody = .chunked
        } else if let length = head.fields["Content-Length"].flatMap(Int.init), length > 0 {
            requestBody = .length(remaining: length)
        } else {
            requestBody = .none
            requestFinished = true
        }
        parser.expectResponse(toMethod: head.method)
    }

    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        do {
            try stream.write(bytes, deadline: deadline)
        } catch let error as NetError {
            failed = true
            throw HTTPClientError.transport(error)
        }
    }
}
