import TokenProxyCore

/// Passing the upstream's response to the client.
extension ProxyConnection {
    /// Streams `response` and its body to the client with framing the client understands,
    /// then gives the upstream connection back. Returns whether the client connection stays
    /// open.
    func relay(
        _ response: HTTPResponseHead, from connection: ProxyUpstreamConnection,
        exchange: Exchange
    ) -> Bool {
        let head = exchange.head
        let route = exchange.forward.routeName
        if response.status == 101 {
            guard exchange.isUpgrade else {
                connection.http.close()
                setUpstream(nil)
                return fail(
                    .badUpstreamResponse(
                        route: route, upstream: exchange.forward.upstream.description,
                        detail: "101 Switching Protocols to a request that did not ask for it"),
                    head: head, route: route, close: true, retried: exchange.retried,
                    start: exchange.start)
            }
            switchProtocols(response, connection: connection, exchange: exchange)
            return false
        }
        let framing = clientFraming(of: response, to: head)
        var keepAlive =
            head.keepAlive && exchange.requestComplete && framing != .close && !shutdownRequested
        let connectionField: ProxyHeaders.ConnectionField =
            keepAlive ? (head.version == .http1_0 ? .keepAlive : .none) : .close
        output += ProxyHeaders.clientResponse(
            response, framing: framing, connection: connectionField, via: configuration.via)
        var failure: String?
        do {
            // Reading waits on the upstream only after the gathered output went out (see
            // `FlushingStream`), so a small response leaves in one write.
            while let part = try connection.http.readResponseBodyPart(
                deadline: .now + configuration.responseTimeout)
            {
                engine.noteBuffered(part.count)
                if framing == .chunked { appendChunk(part) } else { output += part }
                if output.count >= Self.bufferSize { try flushOutput() }
            }
            if framing == .chunked {
                output += HTTPSerializer.lastChunk(trailers: connection.http.trailers)
            }
            try flushOutput()
        } catch is ClientError {
            failure = "client went away during the response"
            keepAlive = false
            connection.http.close()
        } catch {
            // Too late for a 502: the head is out. Closing tells the client the body is cut.
            failure =
                ProxyEngineError.exchanging(
                    error, route: route, upstream: exchange.forward.upstream.description
                ).description + " (response truncated)"
            keepAlive = false
            connection.http.close()
            try? flushOutput()
        }
        output.removeAll(keepingCapacity: true)
        setUpstream(nil)
        engine.pool.release(connection)
        report(
            head, route: route, status: response.status, failure: failure,
            retried: exchange.retried, start: exchange.start)
        return keepAlive
    }

    /// How the body reaches the client (RFC 9112 §6.3): none for HEAD, 204 and 304; the
    /// upstream's Content-Length as is; chunked (or until-close) bodies re-chunked for
    /// HTTP/1.1 clients, delimited by closing for HTTP/1.0 ones.
    private func clientFraming(of response: HTTPResponseHead, to head: HTTPRequestHead)
        -> ProxyHeaders.ResponseFraming
    {
        if head.method == "HEAD" || response.status == 204 || response.status == 304 {
            return .none
        }
        if !response.fields.contains("Transfer-Encoding"),
            let value = response.fields["Content-Length"],
            let first = value.split(separator: ",").first,
            let length = Int(first.filter { $0 != " " && $0 != "\t" })
        {
            return .length(length)
        }
        return head.version == .http1_1 ? .chunked : .close
    }

    /// After a 101 to an upgrade request: relay bytes both ways until either side closes.
    private func switchProtocols(
        _ response: HTTPResponseHead, connection: ProxyUpstreamConnection, exchange: Exchange
    ) {
        output += ProxyHeaders.clientResponse(
            response, framing: .none, connection: .upgrade, via: configuration.via)
        connection.stream.beforeRead = nil
        var totals = ProxyTunnel.Totals()
        if (try? flushOutput()) != nil {
            // The parser still owes the 101's end, after which it hands over the bytes that
            // followed it (the upgraded protocol's first bytes).
            _ = try? connection.http.parser.next()
            let upstreamBytes = connection.http.parser.takeRemainingBytes()
            let clientBytes = parser.takeRemainingBytes()
            totals = ProxyTunnel.relay(
                client: client, upstream: connection.stream.inner, clientBytes: clientBytes,
                upstreamBytes: upstreamBytes, buffer: readBuffer,
                idleTimeout: configuration.idleTimeout)
        }
        connection.http.close()
        setUpstream(nil)
        report(
            exchange.head, route: exchange.forward.routeName, status: 101,
            failure: totals.failure, retried: exchange.retried, start: exchange.start)
    }
}
