import TokenProxyCore

/// The upstream's side of an exchange: its response, relayed to the client with backpressure,
/// and the one replay after a 401.
extension ProxyConnection: UpstreamConnectionOwner {
    func upstreamConnected(_ upstream: UpstreamConnection, failure: NetError?) {
        if isTunnelling, tunnel?.upstream === upstream {
            tunnelConnected(failure: failure)
        } else if let exchange, exchange.upstream === upstream {
            if let failure {
                failExchange(
                    ProxyEngineError.connecting(
                        failure, route: exchange.route, upstream: exchange.upstreamName))
            } else {
                sendRequest()
            }
        }
        syncClientInterest()
    }

    func upstreamReady(_ upstream: UpstreamConnection) {
        if isTunnelling, tunnel?.upstream === upstream {
            tunnelUpstreamReady()
        } else if exchange?.upstream === upstream {
            pumpUpstream(upstream)
        }
        syncClientInterest()
    }

    /// Sends what is queued upstream and reads what the upstream has.
    ///
    /// Not re-entered: a call while pumping (the client drained mid-pump and the upstream may
    /// be read again) asks the running pump for another pass; past a few passes the next one
    /// goes through the loop's inbox, so one fast exchange cannot starve the loop's others.
    func pumpUpstream(_ upstream: UpstreamConnection) {
        if pumping {
            repump = true
            return
        }
        pumping = true
        var passes = 0
        repeat {
            repump = false
            passes += 1
            pumpOnce(upstream)
        } while repump && passes < 4 && exchange?.upstream === upstream && !isClosed
        pumping = false
        guard repump, exchange?.upstream === upstream else { return }
        repump = false
        loop.execute { [self] in
            guard !isClosed, exchange?.upstream === upstream else { return }
            pumpUpstream(upstream)
            syncClientInterest()
        }
    }

    private func pumpOnce(_ upstream: UpstreamConnection) {
        if !upstream.output.isEmpty, exchange?.writeFailed == false {
            if !upstream.flush() {
                upstreamWriteFailed()
                return
            }
            upstreamDeadline = deadline(in: context.timeouts.response)
        }
        if exchange?.waitingForDrain == true && upstream.output.acceptsMore { continueBody() }
        guard exchange?.upstream === upstream, upstream.reading else { return }
        // Events the parser already holds first (after a pause), then the socket. An idle
        // parser holds none (the usual case: a response not begun): asking it bound the
        // exchange for nothing, a retain and a release per pump.
        if !upstream.parserIsIdle { processResponse(upstream, ended: false) }
        var rounds = 0
        while exchange?.upstream === upstream && upstream.reading && !isClosed
            && rounds < Limits.Proxy.readsPerEvent
        {
            rounds += 1
            let buffer = context.readBuffer
            switch upstream.read(into: buffer) {
            case .bytes(let count):
                upstream.receivedResponseBytes = true
                upstream.parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                upstreamDeadline = deadline(in: context.timeouts.response)
                processResponse(upstream, ended: false)
                if count < buffer.count && !upstream.hasBufferedInput {
                    // The socket is (very likely) drained: what is missing is yet to come.
                    rounds = .max
                    acknowledgeIfMidResponse(upstream)
                }
            case .wouldBlock:
                rounds = .max
                acknowledgeIfMidResponse(upstream)
            case .end:
                upstream.parser.feedEndOfStream()
                processResponse(upstream, ended: true)
                rounds = .max
            case .failed(let detail):
                upstreamBroke(detail)
                rounds = .max
            }
        }
        if exchange?.upstream === upstream {
            flushClient()
            if rounds == Limits.Proxy.readsPerEvent { drainTLSLater(upstream) }
        }
    }

    /// Part of a response arrived and the socket has no more: acknowledge at once
    /// (`TCP_QUICKACK`, which also sends the ACK already due). Many upstreams write the head and
    /// the body in two small segments with Nagle on, and the body waits for our ACK of the
    /// head, which Linux would delay ~40 ms on a reused connection. Only then: a response that
    /// arrived whole costs no extra syscall and no extra ACK packet (the next request carries
    /// the ACK), which is most of them.
    private func acknowledgeIfMidResponse(_ upstream: UpstreamConnection) {
        guard configuration.upstreamQuickAck, upstream.receivedResponseBytes,
            let exchange, exchange.upstream === upstream
        else { return }
        switch exchange.phase {
        case .awaitingHead, .relaying, .discarding401: upstream.acknowledgeQuickly()
        case .connecting, .askingAfter401: break
        }
    }

    /// Handles the parser's events for the current phase until it needs more bytes, the
    /// client's queue is over its bound (backpressure: the upstream is not read until the
    /// client took more), or the response is over.
    private func processResponse(_ upstream: UpstreamConnection, ended: Bool) {
        // Bound once: `while let exchange` read and retained the reference again (and
        // released it) for every parser event.
        guard let exchange, exchange.upstream === upstream else { return }
        processResponse(exchange, upstream, ended: ended)
    }

    private func processResponse(
        _ exchange: Exchange, _ upstream: UpstreamConnection, ended: Bool
    ) {
        while self.exchange === exchange, exchange.upstream === upstream, !isClosed {
            if exchange.phase == .askingAfter401 { return }
            if case .relaying = exchange.phase, !output.acceptsMore {
                flushClient()
                guard output.acceptsMore else {
                    upstream.reading = false
                    upstream.updateInterest()
                    return
                }
            }
            // The event taken out of its optional at once and consumed by the switch: an
            // `HTTPParserEvent?` kept to the end of the iteration was destroyed through the
            // generic value witnesses (~100 instructions per event).
            let event: HTTPParserEvent
            do {
                guard let next = try upstream.parser.next() else {
                    if ended { upstreamBroke("the connection closed before the response ended") }
                    return
                }
                event = next
            } catch {
                upstreamBroke(
                    error == .unexpectedEnd ? "the connection closed mid-response" : error.reason)
                return
            }
            // A switch on the event alone: a `(phase, event)` tuple copied the event (a
            // retain and a release per field of a head) for every parser event. No `where`
            // clauses either: a case that may still fail after binding its payload copies it.
            let phase = exchange.phase
            switch consume event {
            case .informationalResponse:
                guard phase == .awaitingHead else {
                    upstreamBroke("unexpected response data")
                    return
                }
                continue
            case .responseHead(let head):
                guard phase == .awaitingHead else {
                    upstreamBroke("unexpected response data")
                    return
                }
                responseHead(head, exchange: exchange, upstream: upstream)
                // Given back for the next response's head (no retain kept by the parser, no
                // release here).
                upstream.parser.recycle(head)
            case .body(let bytes):
                if case .relaying(let framing) = phase {
                    noteBuffered(bytes.count)
                    if framing == .chunked {
                        output.appendChunk(bytes)
                    } else if framing != .none {
                        output.append(bytes)
                    }
                    noteBuffered(output.count)
                } else if phase == .discarding401 {
                    exchange.discarded += bytes.count
                    if exchange.discarded > Limits.Proxy.maxDiscardedBodyBytes {
                        upstream.close()
                        exchange.upstream = nil
                        openUpstream(preferPool: true)
                        return
                    }
                } else {
                    upstreamBroke("unexpected response data")
                    return
                }
            case .end(let trailers):
                if case .relaying(let framing) = phase {
                    if framing == .chunked {
                        output.append(HTTPSerializer.lastChunk(trailers: trailers))
                    }
                    responseComplete(exchange, upstream)
                } else if phase == .discarding401 {
                    resendAfter401(upstream)
                } else {
                    upstreamBroke("unexpected response data")
                }
                return
            case .requestHead:
                upstreamBroke("unexpected response data")
                return
            }
        }
    }

    /// The final response head arrived: ask for a fresh token after a 401 the request can be
    /// replayed for, else relay it.
    private func responseHead(
        _ head: HTTPResponseHead, exchange: Exchange, upstream: UpstreamConnection
    ) {
        exchange.status = head.status
        exchange.responseKeepsAlive = head.keepAlive
        exchange.response = nil
        if head.status == 401, exchange.body.isReplayable, !exchange.retried,
            exchange.forward.authorization != nil
        {
            exchange.response = head
            exchange.phase = .askingAfter401
            upstream.reading = false
            upstream.updateInterest()
            upstreamDeadline = nil
            sequence &+= 1
            let asked = sequence
            let answer = engine.delegate.authorizationAfterUnauthorized(exchange.forward) {
                [self] fresh in
                loop.execute { [self] in
                    guard !isClosed, parked, sequence == asked else { return }
                    parked = false
                    after401(fresh)
                    syncClientInterest()
                }
            }
            switch answer {
            case .now(let fresh): after401(fresh)
            case .later: parked = true
            }
            return
        }
        relayHead(head, exchange: exchange, upstream: upstream)
    }

    /// Tells the machine the response head and starts relaying it.
    func relayHead(_ head: HTTPResponseHead, upstream: UpstreamConnection) {
        guard let exchange else { return }
        relayHead(head, exchange: exchange, upstream: upstream)
    }

    /// `relayHead(_:upstream:)` for the current exchange, bound once by the caller.
    private func relayHead(
        _ head: HTTPResponseHead, exchange: Exchange, upstream: UpstreamConnection
    ) {
        deliverShutdown()
        guard !isClosed else { return }
        switch machine.responseHeadReceived(head) {
        case .refuseSwitch:
            upstream.close()
            self.exchange = nil
            upstreamDeadline = nil
            fail(
                .badUpstreamResponse(
                    route: exchange.route, upstream: exchange.upstreamName,
                    detail: "101 Switching Protocols to a protocol the request did not offer"),
                head: exchange.head, route: exchange.route, close: true,
                retried: exchange.retried, start: exchange.start)
        case .switchProtocols(let clientBytes):
            switchProtocols(head, upstream: upstream, clientBytes: clientBytes)
        case .relay(let framing, let connection):
            ProxyHeaders.appendClientResponse(
                head, framing: framing, connection: connection, via: configuration.via,
                to: &output)
            exchange.phase = .relaying(framing)
        }
    }

    /// The response's end arrived: report, give the upstream back, and tell the machine once
    /// the client has it all.
    private func responseComplete(_ exchange: Exchange, _ upstream: UpstreamConnection) {
        guard let status = exchange.status else { return }
        // The client's bytes first: at one connection the client waits for them, while the
        // bookkeeping below (the pool, the metrics, a clock read, the exchange's release) can
        // run while it reads them. `finishAfterFlush` does the rest of a flush afterwards.
        sendQueuedClientBytes()
        upstream.reusable =
            exchange.requestComplete && !exchange.writeFailed && exchange.responseKeepsAlive
            && upstream.parserIsIdle
        upstream.exchanges += 1
        upstreamDeadline = nil
        self.exchange = nil
        // The exchange's reference moves into the pool (`release` consumes it): handing over
        // `upstream` (the caller's) retained it for the pool and the exchange's was released
        // when the exchange went, an atomic pair per request.
        pool.release(exchange.upstream.take() ?? upstream)
        // Through the template, unretained (see `ProxyForward.templateReference`): reached
        // through the exchange, its reporter was retained and released around the call.
        // Sound: the caller holds `exchange`, whose forward (a `let`) holds the template.
        let reported = exchange.forward.templateReference._withUnsafeGuaranteedRef {
            $0.reportSuccess(
                method: exchange.head.method, status: status, retried: exchange.retried,
                durationNanoseconds: Self.elapsed(since: exchange.start), loop: context.index)
        }
        if !reported {
            report(
                method: exchange.head.method, route: exchange.route, status: status,
                retried: exchange.retried, start: exchange.start)
        }
        current = nil
        if let next = finishAfterFlush(.responseSent(intact: true)) { run(next) }
    }

    /// The upstream failed (reset, closed early, sent garbage): a 502 before the response
    /// head reached the client; after it, the response is cut and the connection closes.
    func upstreamBroke(_ detail: String) {
        guard let exchange else { return }
        switch exchange.phase {
        case .relaying:
            truncate(
                ProxyEngineError.badUpstreamResponse(
                    route: exchange.route, upstream: exchange.upstreamName, detail: detail))
        case .discarding401:
            exchange.upstream?.close()
            self.exchange?.upstream = nil
            openUpstream(preferPool: false)
        case .connecting, .awaitingHead, .askingAfter401:
            if mayResendOnNewConnection() { return }
            failExchange(
                .badUpstreamResponse(
                    route: exchange.route, upstream: exchange.upstreamName, detail: detail))
        }
    }

    /// Too late for a 502: the head is out. Closing tells the client the body is cut.
    private func truncate(_ error: ProxyEngineError) {
        guard let exchange else { return }
        exchange.upstream?.close()
        self.exchange = nil
        upstreamDeadline = nil
        report(
            exchange.head, route: exchange.route, status: exchange.status ?? 0,
            failure: error.description + " (response truncated)", retried: exchange.retried,
            start: exchange.start)
        current = nil
        machine.closed()
        _ = finishAfterFlush(.close)
    }

    /// The upstream deadline passed.
    func upstreamTimedOut() {
        if isTunnelling {
            tunnelTimedOut()
            return
        }
        guard let exchange else { return }
        switch (upstreamWait, exchange.phase) {
        case (.connect, _):
            failExchange(.connectTimedOut(route: exchange.route, upstream: exchange.upstreamName))
        case (_, .relaying):
            truncate(.responseTimedOut(route: exchange.route, upstream: exchange.upstreamName))
        default:
            failExchange(.responseTimedOut(route: exchange.route, upstream: exchange.upstreamName))
        }
    }

    /// The client's queue went under its bound: read the upstream (or the tunnel's) again.
    func resumeUpstreamAfterDrain() {
        if isTunnelling {
            tunnelClientDrained()
            return
        }
        guard let exchange, case .relaying = exchange.phase, let upstream = exchange.upstream,
            !upstream.reading, output.acceptsMore
        else { return }
        upstream.reading = true
        upstream.updateInterest()
        pumpUpstream(upstream)
    }
}
