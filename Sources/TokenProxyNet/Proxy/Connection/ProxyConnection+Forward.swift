import TokenProxyCore

/// `.forward`: sending the request upstream, with one replay after a 401.
extension ProxyConnection {
    /// One forwarded request while it is in progress.
    struct Exchange {
        let head: HTTPRequestHead
        var upstreamHead: HTTPRequestHead
        var forward: ProxyForward
        let start: ContinuousClock.Instant
        let body: OutgoingBody
        /// Whether client body bytes beyond `prefix` were consumed (no resend possible then).
        var streamedBeyondPrefix = false
        var retried = false
    }

    /// An upstream write failed while the body streamed; the upstream may have answered early.
    private struct UpstreamWriteFailed: Error {
        let underlying: any Error
    }

    /// Carries out `.forward` once the machine has the body (or its first part) ready.
    func forward(_ body: OutgoingBody) -> Step? {
        guard let current, case .forward(let forward) = current.decision,
            let upstreamHead = current.upstreamHead
        else { return nil }
        switch body {
        case .buffered(let bytes): engine.noteBuffered(bytes.count)
        case .streaming(let prefix): if !prefix.isEmpty { engine.noteBuffered(prefix.count) }
        }
        var exchange = Exchange(
            head: current.head, upstreamHead: upstreamHead, forward: forward,
            start: current.start, body: body)
        return run(&exchange)
    }

    private func run(_ exchange: inout Exchange) -> Step? {
        let route = exchange.forward.routeName
        while true {
            let connection: ProxyUpstreamConnection
            let response: HTTPResponseHead
            do {
                (connection, response) = try send(&exchange)
            } catch let error as ClientError {
                setUpstream(nil)
                _ = clientFailed(error, exchange.head, route, exchange.start)
                return nil
            } catch {
                setUpstream(nil)
                return failExchange(
                    ProxyEngineError.exchanging(
                        error, route: route, upstream: exchange.forward.upstream.description),
                    retried: exchange.retried)
            }
            if response.status == 401, exchange.body.isReplayable, !exchange.retried,
                exchange.forward.authorization != nil,
                let fresh = engine.delegate.authorizationAfterUnauthorized(exchange.forward),
                HTTPFields.isValidValue(fresh)
            {
                exchange.retried = true
                exchange.forward.authorization = fresh
                exchange.upstreamHead.fields.set("Authorization", fresh)
                discardResponse(on: connection)
                continue
            }
            return responseSent(intact: relay(response, from: connection, exchange: exchange))
        }
    }

    /// Sends the request on a pooled or new connection and reads the response head. A pooled
    /// connection that fails before any response byte (the upstream closed it while idle) is
    /// replaced once, if the request can still be sent whole (`ConnectionPool.withConnection`).
    private func send(_ exchange: inout Exchange) throws -> (
        ProxyUpstreamConnection, HTTPResponseHead
    ) {
        do {
            return try engine.pool.withConnection(
                exchange.forward.upstream,
                connect: {
                    try ProxyUpstreamConnection.connect(
                        exchange.forward, deadline: .now + configuration.connectTimeout,
                        quickAck: configuration.upstreamQuickAck)
                },
                mayReplay: { error, _ in
                    !(error is ClientError) && !(error is UpstreamWriteFailed)
                        && (exchange.body.isReplayable || !exchange.streamedBeyondPrefix)
                }
            ) { connection in
                setUpstream(connection.stream)
                connection.stream.beforeRead = { [unowned self] in try flushOutput() }
                do {
                    try write(&exchange, on: connection)
                } catch let failure as UpstreamWriteFailed {
                    // The upstream stopped reading the body: it may have answered already
                    // (413, 401 …); relay that answer, or report the write failure.
                    guard
                        let response = try? connection.readResponseHead(
                            deadline: .now + configuration.responseTimeout)
                    else { throw failure }
                    return (connection, response)
                }
                let response = try connection.readResponseHead(
                    deadline: .now + configuration.responseTimeout)
                return (connection, response)
            }
        } catch let failure as UpstreamWriteFailed {
            throw failure.underlying
        }
    }

    /// Writes the head and the body: at once when buffered, else streaming from the client.
    private func write(_ exchange: inout Exchange, on connection: ProxyUpstreamConnection)
        throws
    {
        let http = connection.http
        switch exchange.body {
        case .buffered(let bytes):
            try http.sendRequest(
                exchange.upstreamHead, body: bytes, deadline: .now + configuration.idleTimeout)
        case .streaming(let prefix):
            try http.writeRequestHead(
                exchange.upstreamHead, deadline: .now + configuration.idleTimeout)
            try http.writeRequestBody(prefix, deadline: .now + configuration.idleTimeout)
            exchange.streamedBeyondPrefix = true
            while let piece = try nextBodyPiece() {
                engine.noteBuffered(piece.count)
                do {
                    try http.writeRequestBody(
                        Array(piece), deadline: .now + configuration.idleTimeout)
                } catch {
                    throw UpstreamWriteFailed(underlying: error)
                }
            }
            try http.finishRequestBody(deadline: .now + configuration.idleTimeout)
        }
    }

    /// Reads and drops a response the client will not see (a 401 about to be replayed),
    /// keeping the connection when the body is small enough to be worth it.
    private func discardResponse(on connection: ProxyUpstreamConnection) {
        var total = 0
        do {
            while let part = try connection.http.readResponseBodyPart(
                deadline: .now + configuration.responseTimeout)
            {
                total += part.count
                if total > Limits.Proxy.maxDiscardedBodyBytes {
                    connection.http.close()
                    break
                }
            }
        } catch {
            connection.http.close()
        }
        setUpstream(nil)
        engine.pool.release(connection)
    }

    /// Ends an exchange the client broke: a framing error is answered (nothing more of the
    /// request is forwarded), a vanished client is only reported.
    func clientFailed(
        _ error: ClientError, _ head: HTTPRequestHead, _ route: String,
        _ start: ContinuousClock.Instant
    ) -> Bool {
        switch error {
        case .parse(let parseError):
            writeLocal(status: parseError.status, text: parseError.reason, close: true)
            report(
                head, route: route, status: parseError.status,
                failure: "rejected request body: \(parseError.reason)", start: start)
        case .gone:
            report(head, route: route, status: 0, failure: "client went away", start: start)
        }
        return false
    }

    /// Why `head` cannot go on the wire (a bad target or field from the delegate), or nil.
    static func problem(with head: HTTPRequestHead) -> String? {
        guard HTTPFields.isValidRequestTarget(head.target.utf8) else {
            return "invalid request target"
        }
        if let field = head.fields.firstInvalidField() {
            return "invalid header field '\(HTTPFields.isValidName(field.name) ? field.name : "?")'"
        }
        return nil
    }
}
