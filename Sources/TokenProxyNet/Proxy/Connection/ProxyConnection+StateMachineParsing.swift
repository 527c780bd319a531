import TokenProxyCore

/// Parsing heads and bodies for `ProxyConnection.StateMachine`; the events turn these results
/// into their own action enums.
extension ProxyConnection.StateMachine {
    /// What parsing a head leads to.
    enum HeadResult: Sendable, Equatable {
        case needMore(arm: Deadline?)
        case decideRoute(HTTPRequestHead)
        case reject(HTTPParseError)
    }

    /// What parsing (part of) a body leads to.
    enum BodyResult: Sendable, Equatable {
        case needMore
        case forward(OutgoingBody)
        case send(ArraySlice<UInt8>)
        case finish
        case respond(HTTPServerResponse, close: Bool)
        case reject(HTTPParseError)
    }

    /// New input (bytes or their end) for the current state.
    mutating func input() -> ReadableAction {
        switch state {
        case .idle:
            // The first byte of a request starts the header deadline.
            if parser.isIdle { return .readMore(arm: nil) }
            state = .readingHead
            return ReadableAction(parseHead(armed: nil))
        case .readingHead:
            return ReadableAction(parseHead(armed: .header))
        case .discardingBody, .bufferingBody, .forwarding:
            return ReadableAction(parseBody())
        case .routing, .continuing, .responding, .tunnelling, .closed:
            // Parsed once the exchange in progress is over.
            return .doNothing
        }
    }

    /// Parses the next request head. `armed` is the deadline running before the event.
    mutating func parseHead(armed: Deadline?) -> HeadResult {
        // Taken out of the optional at once (see `ProxyConnection.processResponse`).
        let event: HTTPParserEvent
        do {
            guard let next = try parser.next() else {
                var idle = false
                if case .idle = state { idle = true }
                if parser.isIdle {
                    state = .idle
                    idle = true
                }
                let wanted: Deadline = idle ? (requestCount == 0 ? .header : .idle) : .header
                return .needMore(arm: wanted == armed ? nil : wanted)
            }
            event = next
        } catch {
            state = .closed
            return .reject(error)
        }
        guard case .requestHead(let head) = consume event else {
            // Only a bug could leave body events unread here; framing is lost.
            state = .closed
            return .reject(.invalidRequestLine)
        }
        requestCount += 1
        // Read, not copied: the head moves on to the connection (`.decideRoute`) alone.
        var request = Request(head: head)
        if !request.hasBody {
            // The message ends with its head (RFC 9112 §6.3): take that end now, so the
            // request is complete whatever the decision.
            if let next = try? parser.next(), case .end = consume next { request.complete = true }
        }
        state = .routing(request)
        return .decideRoute(head)
    }

    /// Reads the body into memory for replay, or streams it when it is declared too long.
    mutating func startBuffering(_ request: Request) -> BodyResult {
        if case .length(let length) = request.framing, length > settings.maxReplayBodyBytes {
            state = .forwarding(request)
            return .forward(.streaming(prefix: []))
        }
        state = .bufferingBody(request, body: [])
        return parseBody()
    }

    /// Parses body events until one needs the driver.
    mutating func parseBody() -> BodyResult {
        while true {
            let event: HTTPParserEvent?
            do {
                event = try parser.next()
            } catch {
                return bodyFailed(error)
            }
            guard let event else { return .needMore }
            switch event {
            case .body(let bytes):
                if let result = take(bytes) { return result }
            case .end:
                return end()
            case .requestHead, .responseHead, .informationalResponse:
                return bodyFailed(.invalidRequestLine)
            }
        }
    }

    /// Takes body bytes; returns what the driver must do, or nil to go on parsing.
    private mutating func take(_ bytes: ArraySlice<UInt8>) -> BodyResult? {
        switch state {
        case .discardingBody(var request, let response, let discarded):
            guard discarded + bytes.count <= settings.maxDiscardedBodyBytes else {
                request.closeAfter = true
                state = .responding(request)
                return .respond(response, close: true)
            }
            state = .discardingBody(
                request, response: response, discarded: discarded + bytes.count)
            return nil
        case .bufferingBody(let request, var body):
            state = .closed  // so that appending does not copy the body
            body.append(contentsOf: bytes)
            guard body.count <= settings.maxReplayBodyBytes else {
                state = .forwarding(request)
                return .forward(.streaming(prefix: body))
            }
            state = .bufferingBody(request, body: body)
            return nil
        case .forwarding:
            return .send(bytes)
        default:
            return bodyFailed(.invalidRequestLine)
        }
    }

    /// The request's end was parsed.
    private mutating func end() -> BodyResult {
        switch state {
        case .discardingBody(var request, let response, _):
            request.complete = true
            state = .responding(request)
            return .respond(response, close: request.closeAfter)
        case .bufferingBody(var request, let body):
            request.complete = true
            state = .forwarding(request)
            return .forward(.buffered(body))
        case .forwarding(var request):
            request.complete = true
            state = .forwarding(request)
            return .finish
        default:
            return bodyFailed(.invalidRequestLine)
        }
    }

    /// A broken body: a local answer still goes out (closing); anything else is rejected.
    private mutating func bodyFailed(_ error: HTTPParseError) -> BodyResult {
        if case .discardingBody(var request, let response, _) = state {
            request.closeAfter = true
            state = .responding(request)
            return .respond(response, close: true)
        }
        state = .closed
        return .reject(error)
    }
}

extension ProxyConnection.StateMachine.ReadableAction {
    init(_ result: ProxyConnection.StateMachine.HeadResult) {
        switch result {
        case .needMore(let arm): self = .readMore(arm: arm)
        case .decideRoute(let head): self = .decideRoute(head)
        case .reject(let error): self = .reject(error)
        }
    }

    /// Every body read is armed anew: `.body` bounds a stall.
    init(_ result: ProxyConnection.StateMachine.BodyResult) {
        switch result {
        case .needMore: self = .readMore(arm: .body)
        case .forward(let body): self = .forward(body)
        case .send(let bytes): self = .sendBody(bytes)
        case .finish: self = .finishBody
        case .respond(let response, let close): self = .respond(response, close: close)
        case .reject(let error): self = .reject(error)
        }
    }
}

extension ProxyConnection.StateMachine.RouteDecidedAction {
    /// From discarding or buffering a body (nothing streams yet).
    init(_ result: ProxyConnection.StateMachine.BodyResult) {
        switch result {
        case .needMore: self = .readMore(arm: .body)
        case .forward(let body): self = .forward(body)
        case .respond(let response, let close): self = .respond(response, close: close)
        case .reject(let error): self = .reject(error)
        case .send, .finish: preconditionFailure("a body streamed before it was forwarded")
        }
    }
}

extension ProxyConnection.StateMachine.ContinueSentAction {
    /// From buffering a body.
    init(_ result: ProxyConnection.StateMachine.BodyResult) {
        switch result {
        case .needMore: self = .readMore(arm: .body)
        case .forward(let body): self = .forward(body)
        case .reject(let error): self = .reject(error)
        case .send, .finish, .respond: preconditionFailure("not a result of buffering a body")
        }
    }
}

extension ProxyConnection.StateMachine.BodyPartSentAction {
    /// From streaming a body.
    init(_ result: ProxyConnection.StateMachine.BodyResult) {
        switch result {
        case .needMore: self = .readMore(arm: .body)
        case .send(let bytes): self = .sendBody(bytes)
        case .finish: self = .finishBody
        case .reject(let error): self = .reject(error)
        case .forward, .respond: preconditionFailure("not a result of streaming a body")
        }
    }
}

extension ProxyConnection.StateMachine.ResponseSentAction {
    init(_ result: ProxyConnection.StateMachine.HeadResult) {
        switch result {
        case .needMore(let arm): self = .readMore(arm: arm)
        case .decideRoute(let head): self = .decideRoute(head)
        case .reject(let error): self = .reject(error)
        }
    }
}
