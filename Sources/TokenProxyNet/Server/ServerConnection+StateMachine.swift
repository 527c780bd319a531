import TokenProxyCore

extension ServerConnection {
    /// Every HTTP/1.1 decision of one server connection, free of sockets, queues and clocks.
    ///
    /// The connection feeds it events (bytes read, end of input, a handler's response, a write
    /// finished, a deadline passed, shutdown) and carries out the one action each event returns.
    /// Requests are answered strictly in order: after a request is dispatched nothing more is
    /// parsed (already-buffered pipelined bytes wait in the parser) until its response has been
    /// written, and the connection stops reading from the socket meanwhile, which bounds what a
    /// pipelining client can make us buffer.
    ///
    /// Deadlines are named (`Deadline`), not timed: the connection maps each to a duration and
    /// arms it when an action asks. A deadline keeps running while the same kind stays wanted, so
    /// a head trickled in over many reads must still arrive within one header timeout.
    struct StateMachine: Sendable {
        /// The limits that shape the machine's decisions.
        struct Settings: Sendable {
            /// Parser limits; `maxBodyBytes` is ignored (see `maxRequestBodyBytes`).
            var limits = HTTPLimits()
            /// Largest request body accepted, declared or counted. Over it: 413 (417 when the
            /// client asked for `100-continue`) and close.
            var maxRequestBodyBytes = 64 * 1024
            /// Close after this many responses (nil: no limit).
            var maxRequestsPerConnection: Int?
        }

        /// Which read deadline applies.
        enum Deadline: Sendable, Equatable {
            /// Between keep-alive requests with nothing buffered: expiry closes silently.
            case idle
            /// A request head is (or, on a fresh connection, should be) arriving: expiry → 408.
            case header
            /// A request body is arriving: expiry → 408.
            case body
        }

        /// A final response with every framing decision made.
        struct Output: Sendable {
            /// The response; `closeConnection` is the final decision to close after writing.
            var response: HTTPServerResponse
            /// False for responses to HEAD: the head describes a body that is not sent.
            var includeBody: Bool
            /// An HTTP/1.0 client asked for keep-alive and gets it: say so explicitly.
            var keepAliveHeader: Bool
        }

        /// What the connection must do next.
        enum Action: Sendable {
            /// Nothing (for example a late response after the connection closed).
            case doNothing
            /// Read more (resuming reading if it was stopped); arm `arm` from now, or keep the
            /// running read deadline when nil.
            case readMore(arm: Deadline?)
            /// A request is complete: stop reading, cancel the read deadline, call the handler.
            case dispatch(HTTPRequestHead, body: [UInt8])
            /// Write `100 Continue` (RFC 9110 §10.1.1), arm `arm`, and read the body.
            case sendContinue(arm: Deadline)
            /// Stop reading and write a final response; then report `writeCompleted()`, or
            /// close when `output.response.closeConnection` is set.
            case write(Output)
            /// Close the connection now.
            case close
        }

        enum State: Sendable, Equatable {
            case idle
            case readingHead
            case readingBody
            case handling
            case writing
            case closed
        }

        private(set) var state = State.idle
        /// Responses dispatched so far.
        private(set) var requestCount = 0
        private let settings: Settings
        private var parser: HTTPParser
        private var armed: Deadline?
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []
        private var awaitingContinue = false
        private var closeAfterWrite = false
        private var closeRequested = false
        private var inputEnded = false

        init(settings: Settings) {
            self.settings = settings
            var limits = settings.limits
            // The body bound is checked here, so it can answer 417 to `100-continue`.
            limits.maxBodyBytes = Int.max
            parser = HTTPParser(mode: .request, limits: limits)
        }

        /// The connection was accepted: the first head must arrive within the header timeout.
        mutating func start() -> Action {
            armed = .header
            return .readMore(arm: .header)
        }

        /// Bytes arrived from the peer.
        mutating func readable(_ bytes: ArraySlice<UInt8>) -> Action {
            guard state != .closed else { return .doNothing }
            parser.feed(bytes)
            switch state {
            case .idle:
                state = .readingHead
                return parse()
            case .readingHead, .readingBody:
                return parse()
            case .handling, .writing, .closed:
                // Parsed after the current response is written.
                return .doNothing
            }
        }

        /// The peer closed its side (read returned 0).
        mutating func endOfInput() -> Action {
            inputEnded = true
            switch state {
            case .idle, .readingHead, .readingBody:
                // Mid-message there is nobody left to read an error response: just close.
                state = .closed
                return .close
            case .handling, .writing, .closed:
                return .doNothing
            }
        }

        /// The handler answered the dispatched request.
        mutating func responseReady(_ response: HTTPServerResponse) -> Action {
            guard state == .handling, let request = head else { return .doNothing }
            head = nil
            var response = response
            if response.headers.firstInvalidField() != nil {
                // Never put a handler's CR/LF on the wire (response splitting).
                response = Self.plainText(500, "invalid response header")
            }
            let reachedLimit = settings.maxRequestsPerConnection.map { requestCount >= $0 } ?? false
            let close =
                response.closeConnection || !request.keepAlive || closeRequested || inputEnded
                || reachedLimit || response.headers.listContains("Connection", token: "close")
            response.closeConnection = close
            closeAfterWrite = close
            state = .writing
            return .write(
                Output(
                    response: response, includeBody: request.method != "HEAD",
                    keepAliveHeader: !close && request.version == .http1_0))
        }

        /// The final response was written completely.
        mutating func writeCompleted() -> Action {
            guard state == .writing else { return .doNothing }
            if closeAfterWrite {
                state = .closed
                return .close
            }
            state = parser.isIdle ? .idle : .readingHead
            return parse()
        }

        /// The armed read deadline passed.
        mutating func deadlineExpired() -> Action {
            switch state {
            case .idle:
                state = .closed
                return .close
            case .readingHead, .readingBody:
                return fail(408, "request timeout")
            case .handling, .writing, .closed:
                return .doNothing
            }
        }

        /// The server is shutting down: close now if idle, else after the current response.
        mutating func shutdownRequested() -> Action {
            closeRequested = true
            guard state == .idle else { return .doNothing }
            state = .closed
            return .close
        }

        /// The connection closed for a reason of its own (I/O error, forced shutdown).
        mutating func closed() {
            state = .closed
        }

        private mutating func parse() -> Action {
            while true {
                let event: HTTPParserEvent?
                do {
                    event = try parser.next()
                } catch {
                    return fail(error.status, error.reason)
                }
                guard let event else { return needMore() }
                switch event {
                case .requestHead(let request):
                    if let action = begin(request) { return action }
                case .body(let slice):
                    awaitingContinue = false
                    guard body.count + slice.count <= settings.maxRequestBodyBytes else {
                        return fail(413, "request body too large")
                    }
                    body.append(contentsOf: slice)
                case .end:
                    return complete()
                case .responseHead, .informationalResponse:
                    preconditionFailure("a request-mode parser produced a response")
                }
            }
        }

        /// Validates expectations and the declared body length of a new request.
        private mutating func begin(_ request: HTTPRequestHead) -> Action? {
            head = request
            body = []
            state = .readingBody
            awaitingContinue = false
            var expectsContinue = false
            if request.version == .http1_1 {
                // RFC 9110 §10.1.1: 100-continue is the only expectation defined; a 1.0 client
                // cannot have meant it, so its Expect is ignored.
                let expectations = request.fields.listElements("Expect")
                if !expectations.isEmpty {
                    guard
                        expectations.allSatisfy({
                            HTTPFields.namesEqual(String($0), "100-continue")
                        })
                    else { return fail(417, "unsupported expectation") }
                    expectsContinue = true
                }
            }
            if let value = request.fields["Content-Length"], let declared = Int(value) {
                guard declared <= settings.maxRequestBodyBytes else {
                    return fail(expectsContinue ? 417 : 413, "request body too large")
                }
                body.reserveCapacity(declared)
            }
            awaitingContinue = expectsContinue
            return nil
        }

        private mutating func complete() -> Action {
            state = .handling
            armed = nil
            awaitingContinue = false
            requestCount += 1
            let complete = body
            body = []
            return .dispatch(head!, body: complete)
        }

        /// The parser needs more bytes: keep reading under the deadline the state calls for.
        private mutating func needMore() -> Action {
            if state == .readingHead && parser.isIdle { state = .idle }
            let wanted: Deadline
            switch state {
            case .idle: wanted = requestCount == 0 ? .header : .idle
            case .readingHead: wanted = .header
            default: wanted = .body
            }
            if awaitingContinue {
                // Only when no body byte has arrived yet: a client already sending needs none.
                awaitingContinue = false
                armed = wanted
                return .sendContinue(arm: wanted)
            }
            guard wanted != armed else { return .readMore(arm: nil) }
            armed = wanted
            return .readMore(arm: wanted)
        }

        /// Answers `status` with a short plain-text reason and closes: after a parse error the
        /// framing is lost, and after a limit or timeout the peer is not worth more effort.
        private mutating func fail(_ status: Int, _ reason: String) -> Action {
            let isHead = head?.method == "HEAD"
            head = nil
            body = []
            state = .writing
            armed = nil
            awaitingContinue = false
            closeAfterWrite = true
            return .write(
                Output(
                    response: Self.plainText(status, reason), includeBody: !isHead,
                    keepAliveHeader: false))
        }

        private static func plainText(_ status: Int, _ reason: String) -> HTTPServerResponse {
            HTTPServerResponse(
                status: status, headers: ["Content-Type": "text/plain; charset=utf-8"],
                body: Array((reason + "\n").utf8), closeConnection: true)
        }
    }
}
