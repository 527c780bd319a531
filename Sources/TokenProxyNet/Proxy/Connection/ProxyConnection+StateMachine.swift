import TokenProxyCore

extension ProxyConnection {
    /// Every request-side decision of one proxy client connection, free of sockets, threads
    /// and clocks: parsing (strict, `HTTPParser`), asking for a route, `100 Continue`, body
    /// framing and buffering for replay, limits, rejecting ambiguous requests, pipelining,
    /// keep-alive and close, CONNECT and upgrades.
    ///
    /// The connection feeds it events and carries out the action each returns (see
    /// `ProxyConnection+StateMachineActions.swift`); it never blocks and never touches a
    /// socket, so the same machine can serve a blocking thread or an event loop. Requests are
    /// handled strictly in order: after a head is handed out for routing nothing more is parsed
    /// (pipelined bytes wait in the parser) until its response was sent. A request the parser
    /// refuses (CL+TE, duplicate lengths, unknown codings, obs-fold …) is answered and the
    /// connection closed before anything of it goes upstream (RFC 9112 §6.3, §11.2).
    struct StateMachine: Sendable {
        // Not private: the parsing half lives in `ProxyConnection+StateMachineParsing.swift`.
        var state = State.idle
        /// Request heads parsed so far.
        var requestCount = 0
        let settings: Settings
        var parser: HTTPParser

        init(settings: Settings) {
            self.settings = settings
            parser = HTTPParser(mode: .request, limits: settings.limits)
        }

        /// Whether the connection waits for a request (no exchange in progress): a shutdown
        /// closes it at once.
        var awaitsRequest: Bool {
            // Patterns, not `==`: the synthesized `==` of a state with payloads copied both
            // operands (a retain and a release per reference) on each call.
            switch state {
            case .idle, .readingHead: true
            default: false
            }
        }

        /// Whether HTTP is over on this connection (closed, or a tunnel relays bytes).
        var takesNoInput: Bool {
            switch state {
            case .closed, .tunnelling: true
            default: false
            }
        }

        /// Moves the state out, leaving `.closed` (the caller stores the next one). Matching a
        /// case of `state` in place copied the request it carries (a retain per reference), and
        /// storing the next state released the old one's: two round trips per transition.
        mutating func takeState() -> State {
            var taken = State.closed
            swap(&taken, &state)
            return taken
        }

        /// The connection was accepted: the first head must arrive within the header timeout.
        mutating func start() -> StartAction {
            .readMore(arm: .header)
        }

        /// Bytes arrived from the client.
        mutating func readable(_ bytes: some Sequence<UInt8>) -> ReadableAction {
            if takesNoInput { return .doNothing }
            parser.feed(bytes)
            return input()
        }

        /// `readable` for the bytes of a read buffer (what the connection passes): the
        /// parser's `UnsafeRawBufferPointer` feed is one copy, where the generic `Sequence`
        /// one is not specialized across modules (~660 instructions per read).
        mutating func readable(_ bytes: UnsafeRawBufferPointer) -> ReadableAction {
            if takesNoInput { return .doNothing }
            parser.feed(bytes)
            return input()
        }

        /// The client closed its side (read returned 0).
        mutating func endOfInput() -> ReadableAction {
            if takesNoInput { return .doNothing }
            parser.feedEndOfStream()
            if case .idle = state, parser.isIdle {
                state = .closed
                return .close
            }
            return input()
        }

        /// The delegate decided what to do with the request handed out by `.decideRoute`.
        mutating func routeDecided(_ route: Route) -> RouteDecidedAction {
            // Out of order (a driver bug): end the connection.
            guard case .routing = state else { return .reject(.invalidRequestLine) }
            let taken = takeState()
            guard case .routing(var request) = consume taken else { preconditionFailure() }
            switch route {
            case .respond(let response):
                let close = response.closeConnection || request.closeAfter
                // Without `100 Continue` an expecting client may never send the body it
                // announced, so its connection cannot be kept.
                if request.complete || close || request.expectsContinue {
                    request.closeAfter = close || !request.complete
                    state = .responding(request)
                    return .respond(response, close: request.closeAfter)
                }
                state = .discardingBody(request, response: response, discarded: 0)
                return RouteDecidedAction(parseBody())
            case .forward(let allowedUpgrades):
                // `upgrades` holds the offer until now (a request is routed once), and only
                // an offer is filtered: a plain request stores no array.
                if request.offersUpgrade { request.allowUpgrades(allowedUpgrades) }
                if request.complete {
                    state = .forwarding(request)
                    return .forward(.buffered([]))
                }
                if request.expectsContinue {
                    state = .continuing(request)
                    return .sendContinue
                }
                return RouteDecidedAction(startBuffering(request))
            case .tunnel:
                guard request.isCONNECT, !request.hasBody else {
                    state = .closed
                    return .refuseTunnel
                }
                state = .tunnelling
                return .openTunnel(clientBytes: parser.takeRemainingBytes())
            }
        }

        /// `100 Continue` was written: read the body.
        mutating func continueSent() -> ContinueSentAction {
            guard case .continuing(let request) = state else {
                return .reject(.invalidRequestLine)
            }
            return ContinueSentAction(startBuffering(request))
        }

        /// The last piece of a streaming body (or the prefix) went upstream: the next one.
        mutating func bodyPartSent() -> BodyPartSentAction {
            guard case .forwarding(let request) = state, !request.complete else {
                return .doNothing
            }
            return BodyPartSentAction(parseBody())
        }

        /// The upstream's final response head arrived (after any replay): decide how it
        /// reaches the client, and whether the connection stays open after it.
        mutating func responseHeadReceived(_ response: HTTPResponseHead) -> ResponseHeadAction {
            guard case .forwarding = state else { return .refuseSwitch }
            let taken = takeState()
            guard case .forwarding(var request) = consume taken else { preconditionFailure() }
            if response.status == 101 {
                guard ProxyHeaders.switchMatchesOffer(response, offered: request.upgrades) else {
                    state = .closed
                    return .refuseSwitch
                }
                state = .tunnelling
                return .switchProtocols(clientBytes: parser.takeRemainingBytes())
            }
            let framing = Self.responseFraming(
                of: response, toHEAD: request.isHEAD, http11: request.isHTTP11)
            // A body still streaming from the client cannot be skipped: close after it.
            if !request.complete || framing == .close { request.closeAfter = true }
            let connection: ProxyHeaders.ConnectionField =
                request.closeAfter
                ? .close : (request.isHTTP10 ? .keepAlive : .none)
            state = .forwarding(request)  // the request's last use: moved, not copied
            return .relay(framing, connection: connection)
        }

        /// The exchange failed before a response head reached the client: answer the error.
        mutating func exchangeFailed() -> ExchangeFailedAction {
            switch state {
            case .routing(var request), .continuing(var request), .forwarding(var request),
                .bufferingBody(var request, _), .discardingBody(var request, _, _):
                // Unread body bytes would be taken for the next request: close.
                request.closeAfter = request.closeAfter || !request.complete
                state = .responding(request)
                return .answer(close: request.closeAfter)
            case .idle, .readingHead, .responding, .tunnelling, .closed:
                state = .closed
                return .answer(close: true)
            }
        }

        /// The response to the current request was sent; `intact` is false when it was cut
        /// (the client or the upstream went away mid-body).
        mutating func responseSent(intact: Bool) -> ResponseSentAction {
            let taken = takeState()  // every case below stores the next state
            switch consume taken {
            case .forwarding(let request), .responding(let request):
                guard intact && !request.closeAfter && request.complete else {
                    state = .closed
                    return .close
                }
                state = parser.isIdle ? .idle : .readingHead
                // Nothing is armed while a response is sent: what is wanted now is armed.
                return ResponseSentAction(parseHead(armed: nil))
            default:
                state = .closed
                return .close
            }
        }

        /// The armed read deadline passed.
        mutating func deadlineExpired() -> DeadlineExpiredAction {
            switch state {
            case .idle:
                state = .closed
                return .close
            case .readingHead:
                state = .closed
                return .requestTimeout
            case .discardingBody(var request, let response, _):
                request.closeAfter = true
                state = .responding(request)
                return .respond(response, close: true)
            case .bufferingBody, .continuing, .forwarding:
                state = .closed
                return .close
            case .routing, .responding, .tunnelling, .closed:
                return .doNothing
            }
        }

        /// The engine shuts down: close now if no exchange runs, else after it.
        mutating func shutdownRequested() -> ShutdownAction {
            switch state {
            case .idle, .readingHead:
                state = .closed
                return .close
            case .routing(var request):
                request.closeAfter = true
                state = .routing(request)
            case .continuing(var request):
                request.closeAfter = true
                state = .continuing(request)
            case .discardingBody(var request, let response, let discarded):
                request.closeAfter = true
                state = .discardingBody(request, response: response, discarded: discarded)
            case .bufferingBody(var request, let body):
                request.closeAfter = true
                state = .closed  // so that storing the body back does not copy it
                state = .bufferingBody(request, body: body)
            case .forwarding(var request):
                request.closeAfter = true
                state = .forwarding(request)
            case .responding(var request):
                request.closeAfter = true
                state = .responding(request)
            case .tunnelling, .closed:
                break
            }
            return .doNothing
        }

        /// The connection closed for a reason of its own (read or write error, forced close).
        mutating func closed() {
            state = .closed
        }

        /// How the response body reaches the client (RFC 9112 §6.3): none for HEAD, 204 and
        /// 304; the upstream's Content-Length as is; chunked (or until-close) bodies re-chunked
        /// for HTTP/1.1 clients, delimited by closing for HTTP/1.0 ones.
        static func responseFraming(of response: HTTPResponseHead, to head: HTTPRequestHead)
            -> ProxyHeaders.ResponseFraming
        {
            responseFraming(
                of: response, toHEAD: head.method == "HEAD", http11: head.version == .http1_1)
        }

        /// `responseFraming(of:to:)` from what `Request` keeps of the head.
        static func responseFraming(
            of response: HTTPResponseHead, toHEAD isHEAD: Bool, http11: Bool
        ) -> ProxyHeaders.ResponseFraming {
            if isHEAD || response.status == 204 || response.status == 304 { return .none }
            // A Transfer-Encoding overrides any length (§6.3); read without a copy of the
            // fields (`ProxyHeaders.contentLength(of:)`).
            if let length = ProxyHeaders.contentLength(of: response) { return .length(length) }
            return http11 ? .chunked : .close
        }
    }
}
