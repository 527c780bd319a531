import TokenProxyCore

extension ServerConnection {
    /// Every HTTP/1.1 decision of one server connection, free of sockets, queues and clocks.
    ///
    /// The connection feeds it events (bytes read, end of input, a handler's response, a write
    /// finished, a deadline passed, shutdown) and carries out the action each event returns
    /// (see `ServerConnection+StateMachineActions.swift`). Requests are answered strictly in
    /// order: after a request is dispatched nothing more is parsed (already-buffered pipelined
    /// bytes wait in the parser) until its response has been written, and the connection stops
    /// reading from the socket meanwhile, which bounds what a pipelining client can make us
    /// buffer.
    ///
    /// Deadlines are named (`Deadline`), not timed: the connection maps each to a duration and
    /// arms it when an action asks. A deadline keeps running while the same kind stays wanted, so
    /// a head trickled in over many reads must still arrive within one header timeout.
    struct StateMachine: Sendable {
        private(set) var state = State.idle
        /// Requests dispatched so far.
        private(set) var requestCount = 0
        private let settings: Settings
        private var parser: HTTPParser
        /// What `responseReady` needs of the dispatched head, read once at dispatch, so that
        /// answering does not copy the head out of `state` (a retain and release each) nor look
        /// up its `Connection` field again.
        private var dispatched = DispatchedRequest()

        init(settings: Settings) {
            self.settings = settings
            var limits = settings.limits
            // The body bound is checked here, so it can answer 417 to `100-continue`.
            limits.maxBodyBytes = Int.max
            parser = HTTPParser(mode: .request, limits: limits)
        }

        /// The connection was accepted: the first head must arrive within the header timeout.
        mutating func start() -> StartAction {
            .readMore(arm: .header)
        }

        /// Bytes arrived from the peer. They are copied into the parser before this returns, so
        /// `bytes` may point into a buffer the caller reuses (the loop's `readBuffer`).
        mutating func readable(_ bytes: some Sequence<UInt8>) -> ReadableAction {
            if case .closed = state { return .doNothing }
            parser.feed(bytes)
            return parseFed()
        }

        /// `readable` for the bytes of a read buffer (what the connection passes): the parser
        /// copies them with one `memcpy`.
        mutating func readable(_ bytes: UnsafeRawBufferPointer) -> ReadableAction {
            if case .closed = state { return .doNothing }
            parser.feed(bytes)
            return parseFed()
        }

        /// What the bytes just fed make of the current state.
        private mutating func parseFed() -> ReadableAction {
            switch state {
            case .idle:
                let before = readDeadline
                state = .readingHead(closeAfterResponse: false)
                return ReadableAction(parse(armed: before))
            case .readingHead, .readingBody:
                return ReadableAction(parse(armed: readDeadline))
            case .handling, .writing, .closed:
                // Parsed after the current response is written.
                return .doNothing
            }
        }

        /// The peer closed its side (read returned 0).
        mutating func endOfInput() -> EndOfInputAction {
            switch state {
            case .idle, .readingHead, .readingBody:
                // Mid-message there is nobody left to read an error response: just close.
                state = .closed
                return .close
            case .handling:
                state = .handling(closeAfterResponse: true)
                return .doNothing
            case .writing(let then):
                // Requests already buffered whole are still answered, as a half-closing
                // client expects; then the connection closes.
                if then == .readNext { state = .writing(then: .answerBufferedAndClose) }
                return .doNothing
            case .closed:
                return .doNothing
            }
        }

        /// The handler answered the dispatched request.
        mutating func responseReady(_ response: consuming HTTPServerResponse)
            -> ResponseReadyAction
        {
            guard case .handling(let closeAfterResponse) = state else {
                return .doNothing
            }
            var response = response
            let request = dispatched
            // A pre-encoded response (a cached token) was checked when it was encoded.
            let preEncoded = response.encodedHead != nil
            if !preEncoded && response.headers.firstInvalidField() != nil {
                // Never put a handler's CR/LF on the wire (response splitting).
                response = Self.plainText(500, "invalid response header")
            }
            let reachedLimit = settings.maxRequestsPerConnection.map { requestCount >= $0 } ?? false
            let asksClose =
                preEncoded
                ? response.encodedAsksClose
                : response.headers.listContains("Connection", token: "close")
            let close =
                response.closeConnection || !request.keepAlive || closeAfterResponse
                || reachedLimit || asksClose
            response.closeConnection = close
            state = .writing(then: close ? .close : .readNext)
            return .write(
                Output(
                    response: response, includeBody: !request.isHead,
                    keepAliveHeader: !close && request.isHTTP10))
        }

        /// The final response was written completely.
        mutating func writeCompleted() -> WriteCompletedAction {
            guard case .writing(let then) = state else { return .doNothing }
            switch then {
            case .close:
                state = .closed
                return .close
            case .readNext:
                state = parser.isIdle ? .idle : .readingHead(closeAfterResponse: false)
                // Nothing is armed while a response is written: what is wanted now is armed.
                return WriteCompletedAction(parse(armed: nil))
            case .answerBufferedAndClose:
                state = .readingHead(closeAfterResponse: true)
                let result = parse(armed: nil)
                switch result {
                case .dispatch, .fail:
                    return WriteCompletedAction(result)
                case .needMore, .sendContinue:
                    // The rest of this request can never arrive.
                    state = .closed
                    return .close
                }
            }
        }

        /// The armed read deadline passed.
        mutating func deadlineExpired() -> DeadlineExpiredAction {
            switch state {
            case .idle:
                state = .closed
                return .close
            case .readingHead, .readingBody:
                return .write(fail(408, "request timeout"))
            case .handling, .writing, .closed:
                return .doNothing
            }
        }

        /// The server is shutting down: close now if idle, else after the current response
        /// (which then says `Connection: close`).
        mutating func shutdownRequested() -> ShutdownAction {
            switch state {
            case .idle:
                state = .closed
                return .close
            case .readingHead:
                state = .readingHead(closeAfterResponse: true)
            case .readingBody(var request):
                request.closeAfterResponse = true
                state = .readingBody(request)
            case .handling:
                state = .handling(closeAfterResponse: true)
            case .writing:
                // Buffered pipelined requests are dropped: the server is draining.
                state = .writing(then: .close)
            case .closed:
                break
            }
            return .doNothing
        }

        /// The connection closed for a reason of its own (I/O error, forced shutdown).
        mutating func closed() {
            state = .closed
        }

        /// The read deadline the current state calls for (nil: none, nothing is read).
        private var readDeadline: Deadline? {
            switch state {
            case .idle: requestCount == 0 ? .header : .idle
            case .readingHead: .header
            case .readingBody: .body
            case .handling, .writing, .closed: nil
            }
        }

        /// Parses what is buffered. `armed` is the deadline running before the event.
        private mutating func parse(armed: Deadline?) -> ParseResult {
            while true {
                let event: HTTPParserEvent?
                do {
                    event = try parser.next()
                } catch {
                    return .fail(fail(error.status, error.reason))
                }
                guard let event else { return needMore(armed: armed) }
                // Consumed: the head moves on instead of being copied (a retain per copy).
                switch consume event {
                case .requestHead(let head):
                    if let output = begin(head) { return .fail(output) }
                case .body(let slice):
                    guard case .readingBody(var request) = state else {
                        preconditionFailure("body bytes without a request head")
                    }
                    guard request.body.count + slice.count <= settings.maxRequestBodyBytes else {
                        return .fail(fail(413, "request body too large"))
                    }
                    state = .closed  // so that appending does not copy the body
                    request.awaitingContinue = false
                    request.body.append(contentsOf: slice)
                    state = .readingBody(request)
                case .end:
                    // Moved out of `state` (which is replaced below), not copied.
                    var taken = State.closed
                    swap(&taken, &state)
                    guard case .readingBody(let request) = consume taken else {
                        preconditionFailure("a message end without a request head")
                    }
                    dispatched = DispatchedRequest(request.head)
                    state = .handling(closeAfterResponse: request.closeAfterResponse)
                    requestCount += 1
                    return .dispatch(request.head, body: request.body)
                case .responseHead, .informationalResponse:
                    preconditionFailure("a request-mode parser produced a response")
                }
            }
        }

        /// Validates expectations and the declared body length of a new request; returns the
        /// error response when the request is refused.
        /// `consuming`: the head moves into the partial request.
        private mutating func begin(_ head: consuming HTTPRequestHead) -> Output? {
            var closeAfterResponse = false
            if case .readingHead(let close) = state { closeAfterResponse = close }
            var expectsContinue = false
            // Bit tests of the facts the parser noted (`HTTPFields+Facts`), read once: a lookup
            // by name string cost ~130 instructions each on every request.
            // Through `factBits`, inlinable: the `facts` getter made this caller copy the fields.
            let facts = HTTPFields.Facts(rawValue: head.fields.factBits)
            if facts.contains(.expect) && head.version == .http1_1 {
                // RFC 9110 §10.1.1: 100-continue is the only expectation defined; a 1.0 client
                // cannot have meant it, so its Expect is ignored.
                let expectations = head.fields.listElements("Expect")
                if !expectations.isEmpty {
                    guard
                        expectations.allSatisfy({
                            HTTPFields.namesEqual(String($0), "100-continue")
                        })
                    else { return fail(417, "unsupported expectation", head: head) }
                    expectsContinue = true
                }
            }
            var declared = 0
            if facts.contains(.contentLength), let value = head.fields["Content-Length"],
                let length = Int(value)
            {
                guard length <= settings.maxRequestBodyBytes else {
                    return fail(expectsContinue ? 417 : 413, "request body too large", head: head)
                }
                declared = length
            }
            var request = PartialRequest(
                head: head, awaitingContinue: expectsContinue,
                closeAfterResponse: closeAfterResponse)
            if declared > 0 { request.body.reserveCapacity(declared) }
            state = .readingBody(request)
            return nil
        }

        /// The parser needs more bytes: keep reading under the deadline the state calls for,
        /// after a `100 Continue` when the client waits for one.
        private mutating func needMore(armed: Deadline?) -> ParseResult {
            if case .readingHead = state, parser.isIdle { state = .idle }
            let wanted = readDeadline ?? .header
            if case .readingBody(var request) = state, request.awaitingContinue {
                // Only when no body byte has arrived yet: a client already sending needs none.
                request.awaitingContinue = false
                state = .readingBody(request)
                return .sendContinue(arm: wanted)
            }
            return .needMore(arm: wanted == armed ? nil : wanted)
        }

        /// Answers `status` with a short plain-text reason and closes: after a parse error the
        /// framing is lost, and after a limit or timeout the peer is not worth more effort.
        private mutating func fail(_ status: Int, _ reason: String, head: HTTPRequestHead? = nil)
            -> Output
        {
            var isHead = head?.method == "HEAD"
            if case .readingBody(let request) = state { isHead = request.head.method == "HEAD" }
            state = .writing(then: .close)
            return Output(
                response: Self.plainText(status, reason), includeBody: !isHead,
                keepAliveHeader: false)
        }

        static func plainText(_ status: Int, _ reason: String) -> HTTPServerResponse {
            HTTPServerResponse(
                status: status, headers: ["Content-Type": "text/plain; charset=utf-8"],
                body: Array((reason + "\n").utf8), closeConnection: true)
        }
    }
}
