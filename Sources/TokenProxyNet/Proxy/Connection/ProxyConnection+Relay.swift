import TokenProxyCore

/// Passing the upstream's response to the client.
extension ProxyConnection {
    /// Streams `response` and its body to the client with the framing and `Connection`
    /// field the state machine chose, then gives the upstream connection back. Returns whether
    /// the response went out intact (false: the connection must close).
    func relay(
        _ response: HTTPResponseHead, from connection: ProxyUpstreamConnection,
        exchange: Exchange
    ) -> Bool {
        let head = exchange.head
        let route = exchange.forward.routeName
        deliverShutdown()
        let framing: ProxyHeaders.ResponseFraming
        let connectionField: ProxyHeaders.ConnectionField
        switch machine.responseHeadReceived(response) {
        case .refuseSwitch:
            connection.http.close()
            setUpstream(nil)
            _ = fail(
                .badUpstreamResponse(
                    route: route, upstream: exchange.forward.upstream.description,
                    detail: "101 Switching Protocols to a protocol the request did not offer"),
                head: head, route: route, close: true, retried: exchange.retried,
                start: exchange.start)
            return false
        case .switchProtocols(let clientBytes):
            switchProtocols(
                response, connection: connection, exchange: exchange, clientBytes: clientBytes)
            return false
        case .relay(let chosenFraming, let chosenField):
            framing = chosenFraming
            connectionField = chosenField
        }
        output += ProxyHeaders.clientResponse(
            response, framing: framing, connection: connectionField, via: configuration.via)
        var intact = true
        var failure: String?
        do {
            // Reading waits on the upstream only after the gathered output went out (see
            // `FlushingStream`), so a small response leaves in one write.
            while let part = try connection.http.readResponseBodyPart(
                deadline: .now + configuration.responseTimeout)
            {
                engine.noteBuffered(part.count)
                if framing == .chunked { appendChunk(part) } else { output += part }
                if output.count >= Limits.Proxy.relayBufferBytes { try flushOutput() }
            }
            if framing == .chunked {
                output += HTTPSerializer.lastChunk(trailers: connection.http.trailers)
            }
            try flushOutput()
        } catch is ClientError {
            failure = "client went away during the response"
            intact = false
            connection.http.close()
        } catch {
            // Too late for a 502: the head is out. Closing tells the client the body is cut.
            failure =
                ProxyEngineError.exchanging(
                    error, route: route, upstream: exchange.forward.upstream.description
                ).description + " (response truncated)"
            intact = false
            connection.http.close()
            try? flushOutput()
        }
        output.removeAll(keepingCapacity: true)
        setUpstream(nil)
        engine.pool.release(connection)
        report(
            head, route: route, status: response.status, failure: failure,
            retried: exchange.retried, start: exchange.start)
        return intact
    }

    /// After a 101 to an upgrade request: relay bytes both ways until either side closes.
    private func switchProtocols(
        _ response: HTTPResponseHead, connection: ProxyUpstreamConnection, exchange: Exchange,
        clientBytes: [UInt8]
    ) {
        output += ProxyHeaders.clientResponse(
            response, framing: .none, connection: .upgrade, via: configuration.via)
        connection.stream.beforeRead = nil
        var totals = TunnelRelay.Totals()
        if (try? flushOutput()) != nil {
            // The parser still owes the 101's end, after which it hands over the bytes that
            // followed it (the upgraded protocol's first bytes).
            _ = try? connection.http.parser.next()
            let upstreamBytes = connection.http.parser.takeRemainingBytes()
            totals = TunnelRelay.relay(
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
