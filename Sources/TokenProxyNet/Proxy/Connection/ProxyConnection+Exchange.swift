import TokenProxyCore

/// One forwarded request while it is in progress.
extension ProxyConnection {
    /// A class, not a struct: the response path reads it for every parser event, and copying a
    /// struct of two heads and a forward (a dozen references) each time was measurable.
    final class Exchange {
        enum Phase: Equatable {
            /// Resolving, connecting, TLS.
            case connecting
            /// The request is (being) sent; the response head is awaited.
            case awaitingHead
            /// A 401 arrived; the delegate is asked for a fresh token (the upstream is not
            /// read meanwhile).
            case askingAfter401
            /// Reading and dropping the 401's body before the request goes again.
            case discarding401
            /// The response streams to the client with this framing.
            case relaying(ProxyHeaders.ResponseFraming)
        }

        // Mutable state not checked for exclusivity at run time: it belongs to its
        // connection, loop thread only, and no access overlaps another (see `ProxyConnection`).
        let head: HTTPRequestHead
        let forward: ProxyForward
        let start: UInt64
        let body: ProxyConnection.OutgoingBody
        /// The upstream request body is chunk-framed (the client's was).
        let chunked: Bool
        @exclusivity(unchecked) var upstream: UpstreamConnection?
        @exclusivity(unchecked) var phase = Phase.connecting
        /// Whether client body bytes beyond the prefix were consumed (no resend then).
        @exclusivity(unchecked) var streamedBeyondPrefix = false
        /// The whole request body was queued upstream.
        @exclusivity(unchecked) var requestComplete = false
        /// A body piece waits for the upstream to take what is queued (backpressure).
        @exclusivity(unchecked) var waitingForDrain = false
        /// Writing upstream failed; the upstream may still answer (413, 401 …).
        @exclusivity(unchecked) var writeFailed = false
        @exclusivity(unchecked) var retried = false
        /// A reused connection failed before any response byte; the request went again once.
        @exclusivity(unchecked) var staleRetried = false
        /// The status of the last response head from the upstream, and whether that response
        /// lets the connection be reused (RFC 9112 §9.3): all that is asked of the head after
        /// it was relayed, so the head itself is not copied into the exchange.
        @exclusivity(unchecked) var status: Int?
        @exclusivity(unchecked) var responseKeepsAlive = false
        /// A 401's head, kept while the delegate is asked for a fresh token: it is relayed
        /// when none comes.
        @exclusivity(unchecked) var response: HTTPResponseHead?
        @exclusivity(unchecked) var discarded = 0

        init(
            head: consuming HTTPRequestHead, forward: consuming ProxyForward, start: UInt64,
            body: consuming ProxyConnection.OutgoingBody
        ) {
            // `chunked` first: each parameter's last use is its store, so it moves in (read
            // after the store, the head and the forward were copied in and released after).
            // The fields' facts through the head (`factBits`): `fields.contains(_:)`, out of
            // line, took a copy of the fields (a retain and a release per request).
            self.chunked = HTTPFields.Facts(rawValue: head.fields.factBits).has(
                .transferEncoding)
            self.head = head
            self.forward = forward
            self.start = start
            self.body = body
        }

        var upstreamName: String { forward.upstream.description }
        var route: String { forward.routeName }
    }

    /// Carries out `.forward` once the machine has the body (or its first part) ready.
    func startExchange(_ body: consuming OutgoingBody) {
        // Only the parts needed, each read in place: binding `current` copied all of it (the
        // head, the decision, the route name) and destroyed the copy. The forward moves into
        // the exchange (nothing reads it from `current` again).
        guard let (head, start, forward) = current?.takeForExchange() else { return }
        switch body {
        case .buffered(let bytes): noteBuffered(bytes.count)
        case .streaming(let prefix): noteBuffered(prefix.count)
        }
        let exchange = Exchange(
            head: consume head, forward: consume forward, start: start, body: body)
        self.exchange = exchange
        openUpstream(exchange, preferPool: true)
    }

    /// Takes a pooled connection to the exchange's upstream (`preferPool`) or opens one.
    func openUpstream(preferPool: Bool) {
        guard let exchange else { return }
        openUpstream(exchange, preferPool: preferPool)
    }

    /// `openUpstream(preferPool:)` for `exchange`, the current one, bound once by the caller:
    /// each `self.exchange?.…` chain read (and retained) the reference again.
    private func openUpstream(_ exchange: Exchange, preferPool: Bool) {
        // The upstream unretained (see `ProxyForwardTemplate.upstreamReference`), and the
        // forward read only where needed: binding either retained and released it per request.
        // Sound: the caller holds `exchange`, whose forward (a `let`) holds the template (a
        // `let`), which holds the upstream (a `let`).
        exchange.forward.template.upstreamReference._withUnsafeGuaranteedRef {
            openUpstream(exchange, to: $0, preferPool: preferPool)
        }
    }

    private func openUpstream(_ exchange: Exchange, to upstream: ProxyUpstream, preferPool: Bool) {
        switch upstream.scheme {
        case "http":
            break
        case "https" where exchange.forward.tls == nil:
            failExchange(
                .tlsFailed(
                    route: exchange.route, upstream: upstream.description,
                    detail: "no TLS settings for an https upstream (a routing bug)"))
            return
        case "https":
            break
        default:
            failExchange(
                .upstreamUnreachable(
                    route: exchange.route, upstream: upstream.description,
                    detail: "unsupported scheme '\(upstream.scheme)'"))
            return
        }
        exchange.phase = .connecting
        if preferPool, let pooled = pool.acquire(upstream) {
            attach(pooled, to: exchange)
            sendRequest(exchange, on: pooled)
            return
        }
        let connection = UpstreamConnection(
            upstream: upstream, tls: exchange.forward.tls, loop: loop,
            token: context.nextUpstreamToken())
        attach(connection, to: exchange)
        upstreamWait = .connect
        upstreamDeadline = deadline(in: context.timeouts.connect)
        resolve(connection)
    }

    private func attach(_ connection: UpstreamConnection, to exchange: Exchange) {
        connection.setOwner(self)
        connection.receivedResponseBytes = false
        connection.reusable = false
        exchange.upstream = connection
    }

    /// Resolves the connection's host (at once for IP literals and cached names, else off the
    /// loop) and starts connecting.
    func resolve(_ connection: UpstreamConnection) {
        let host = connection.upstream.host
        let port = connection.upstream.port
        if let answer = engine.resolver.immediate(host: host, port: port) {
            startConnecting(connection, answer)
            return
        }
        engine.resolver.resolve(host: host, port: port, on: loop) { [self] answer in
            guard !isClosed, connection.isOwned(by: self), connection.phase == .resolving else {
                return
            }
            startConnecting(connection, answer)
            syncClientInterest()
        }
    }

    private func startConnecting(
        _ connection: UpstreamConnection, _ answer: UpstreamResolver.Answer
    ) {
        switch answer {
        case .success(let addresses): connection.connect(to: addresses)
        case .failure(let error): connection.resolutionFailed(error)
        }
    }

    /// Queues the request head and the body (or its prefix) upstream and starts reading.
    func sendRequest() {
        guard let exchange, let upstream = exchange.upstream else { return }
        sendRequest(exchange, on: upstream)
    }

    /// `sendRequest()` for the current exchange and its upstream, bound once by the caller.
    private func sendRequest(_ exchange: Exchange, on upstream: UpstreamConnection) {
        exchange.phase = .awaitingHead
        exchange.writeFailed = false
        upstream.parser.expectResponse(toMethod: exchange.head.method)
        // Written now, straight into the upstream's queue, each time the request goes (again:
        // after a 401 with the fresh token, or on a new connection after a stale one): the
        // same head, forward and client give the same bytes, and no copy is kept meanwhile.
        ProxyHeaders.appendUpstreamRequest(
            exchange.head, forward: exchange.forward, clientAddress: clientAddress,
            via: configuration.via, to: &upstream.output)
        switch exchange.body {
        case .buffered(let body):
            appendBody(body, chunked: exchange.chunked, to: upstream)
            if exchange.chunked { upstream.output.append(HTTPSerializer.lastChunk()) }
            exchange.requestComplete = true
        case .streaming(let prefix):
            appendBody(prefix, chunked: exchange.chunked, to: upstream)
        }
        upstream.reading = true
        upstreamWait = .response
        upstreamDeadline = deadline(in: context.timeouts.response)
        noteBuffered(upstream.output.count)
        guard upstream.flush() else {
            upstreamWriteFailed()
            return
        }
        if !exchange.requestComplete { continueBody() }
    }

    private func appendBody(
        _ bytes: some Collection<UInt8>, chunked: Bool, to upstream: UpstreamConnection
    ) {
        if chunked { upstream.output.appendChunk(bytes) } else { upstream.output.append(bytes) }
    }

    /// Asks the machine for the next piece of a streaming body, unless the upstream holds
    /// more than its bound (then when it drained).
    func continueBody() {
        guard let upstream = exchange?.upstream, exchange?.requestComplete == false else { return }
        guard upstream.output.acceptsMore else {
            exchange?.waitingForDrain = true
            return
        }
        exchange?.waitingForDrain = false
        exchange?.streamedBeyondPrefix = true
        run(Step(machine.bodyPartSent()))
    }

    /// `.sendBody`: queue a piece of the client's body upstream.
    func sendBody(_ bytes: ArraySlice<UInt8>) -> Step? {
        guard let exchange, let upstream = exchange.upstream else { return nil }
        if exchange.writeFailed { return Step(machine.bodyPartSent()) }
        appendBody(bytes, chunked: exchange.chunked, to: upstream)
        noteBuffered(upstream.output.count)
        guard upstream.flush() else {
            upstreamWriteFailed()
            return nil
        }
        guard upstream.output.acceptsMore else {
            self.exchange?.waitingForDrain = true
            return nil
        }
        return Step(machine.bodyPartSent())
    }

    /// `.finishBody`: the client's body ended.
    func finishBody() {
        guard let exchange, let upstream = exchange.upstream else { return }
        self.exchange?.requestComplete = true
        guard !exchange.writeFailed else { return }
        if exchange.chunked { upstream.output.append(HTTPSerializer.lastChunk()) }
        upstreamDeadline = deadline(in: context.timeouts.response)
        if !upstream.flush() { upstreamWriteFailed() }
    }

    /// Writing upstream failed: stop sending, but keep reading — the upstream may have
    /// answered already (413, 401 …); if it did not, the read reports the failure.
    func upstreamWriteFailed() {
        guard let upstream = exchange?.upstream else { return }
        exchange?.writeFailed = true
        upstream.output.removeAll()
        if exchange?.phase == .awaitingHead && !upstream.receivedResponseBytes
            && mayResendOnNewConnection()
        {
            return
        }
        pumpUpstream(upstream)
    }

    /// A reused connection failed before any response byte: the upstream closed it while it
    /// sat idle (RFC 9112 §9.3.1). Sends the request once more on a new connection when it
    /// can go again whole. Returns whether it did.
    func mayResendOnNewConnection() -> Bool {
        guard let exchange, let upstream = exchange.upstream, upstream.exchanges > 0,
            !upstream.receivedResponseBytes, !exchange.staleRetried,
            exchange.body.isReplayable || !exchange.streamedBeyondPrefix
        else { return false }
        upstream.close()
        self.exchange?.staleRetried = true
        self.exchange?.upstream = nil
        openUpstream(preferPool: false)
        return true
    }

    /// The exchange failed before a response head reached the client: answer the error.
    func failExchange(_ error: ProxyEngineError) {
        let retried = exchange?.retried ?? false
        let head = requestHead
        exchange?.upstream?.close()
        exchange = nil
        upstreamDeadline = nil
        guard let current else { return }
        let close: Bool
        switch machine.exchangeFailed() {
        case .answer(let decided): close = decided
        }
        fail(
            error, head: head, route: current.route, close: close, retried: retried,
            start: current.start)
    }
}
