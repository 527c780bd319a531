import TokenProxyCore

/// Reading the response: head first (interim 1xx skipped), then the body by pulling.
extension HTTPClientConnection {
    /// Reads until the final response head and returns it. Interim 1xx responses are skipped.
    /// Throws `.transport(.connectionClosed)` if the peer closed before sending any byte, the
    /// case `HTTPClient` may retry.
    package func readResponseHead(deadline: ContinuousClock.Instant) throws -> HTTPResponseHead {
        while true {
            switch try nextEvent(deadline: deadline) {
            case .responseHead(let head):
                responseKeepAlive = head.keepAlive
                return head
            case .informationalResponse:
                continue
            case .requestHead, .body, .end:
                failed = true
                throw HTTPClientError.malformedResponse(
                    peer: peer, reason: "response body before its head")
            }
        }
    }

    /// The next piece of the response body, or nil once the body is complete (then `trailers`
    /// holds any trailer fields). Pieces are at most one read's worth.
    package func readResponseBodyPart(deadline: ContinuousClock.Instant) throws -> ArraySlice<
        UInt8
    >? {
        guard !responseFinished else { return nil }
        switch try nextEvent(deadline: deadline) {
        case .body(let bytes):
            return bytes
        case .end(let trailers):
            self.trailers = trailers
            responseFinished = true
            return nil
        case .requestHead, .responseHead, .informationalResponse:
            failed = true
            throw HTTPClientError.malformedResponse(peer: peer, reason: "unexpected response head")
        }
    }

    /// Reads the rest of the body and returns it, failing with `responseTooLarge` past
    /// `limit` bytes (checked against Content-Length first, so an announced oversize body is
    /// not even read).
    package func readResponseBody(
        head: HTTPResponseHead, limit: Int, deadline: ContinuousClock.Instant
    ) throws
        -> [UInt8]
    {
        if let declared = head.fields["Content-Length"].flatMap(Int.init), declared > limit {
            failed = true
            throw HTTPClientError.responseTooLarge(peer: peer, limit: limit)
        }
        var body: [UInt8] = []
        while let part = try readResponseBodyPart(deadline: deadline) {
            guard part.count <= limit - body.count else {
                failed = true
                throw HTTPClientError.responseTooLarge(peer: peer, limit: limit)
            }
            body += part
        }
        return body
    }

    /// After a 2xx answer to CONNECT: checks that the proxy sent nothing past its response
    /// head (TLS must start with our ClientHello) and hands the stream over to the tunnel.
    package func finishTunnelSetup() throws {
        // The head was returned; the parser still owes the message's `.end`, after which it
        // switches to tunnel mode.
        if !parser.isTunnel { _ = try? parser.next() }
        guard parser.isTunnel else {
            failed = true
            throw HTTPClientError.malformedResponse(
                peer: peer, reason: "CONNECT response did not open a tunnel")
        }
        guard parser.takeRemainingBytes().isEmpty else {
            failed = true
            throw HTTPClientError.malformedResponse(
                peer: peer, reason: "proxy sent data before the tunnel was used")
        }
        failed = true  // no more HTTP on this connection object: the stream now carries TLS
    }

    /// The next parser event, reading from the stream as needed.
    private func nextEvent(deadline: ContinuousClock.Instant) throws -> HTTPParserEvent {
        while true {
            let event: HTTPParserEvent?
            do {
                event = try parser.next()
            } catch {
                failed = true
                if error == .unexpectedEnd && !receivedResponseBytes {
                    throw HTTPClientError.transport(.connectionClosed(peer: peer))
                }
                throw HTTPClientError.malformedResponse(peer: peer, reason: error.reason)
            }
            if let event { return event }
            if sawEndOfStream {
                failed = true
                throw HTTPClientError.transport(.connectionClosed(peer: peer))
            }
            try fill(deadline: deadline)
        }
    }

    private func fill(deadline: ContinuousClock.Instant) throws {
        let bytes: [UInt8]
        do {
            bytes = try stream.read(maxLength: Limits.IdP.readBufferBytes, deadline: deadline)
        } catch let error as NetError {
            failed = true
            throw HTTPClientError.transport(error)
        }
        if bytes.isEmpty {
            sawEndOfStream = true
            parser.feedEndOfStream()
        } else {
            receivedResponseBytes = true
            parser.feed(bytes)
        }
    }
}
