import TokenProxyCore

/// The settings, deadlines, states and per-event actions of `ServerConnection.StateMachine`.
///
/// Each event has its own action enum holding only the outcomes that event can have, and every
/// action is `Equatable`, so a test states a decision in one line
/// (`#expect(machine.deadlineExpired() == .close)`).
extension ServerConnection.StateMachine {
    /// The limits that shape the machine's decisions.
    struct Settings: Sendable {
        /// Parser limits; `maxBodyBytes` is ignored (see `maxRequestBodyBytes`).
        var limits = HTTPLimits()
        /// Largest request body accepted, declared or counted. Over it: 413 (417 when the
        /// client asked for `100-continue`) and close.
        var maxRequestBodyBytes = Limits.Server.maxRequestBodyBytes
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
    struct Output: Sendable, Equatable {
        /// The response; `closeConnection` is the final decision to close after writing.
        var response: HTTPServerResponse
        /// False for responses to HEAD: the head describes a body that is not sent.
        var includeBody: Bool
        /// An HTTP/1.0 client asked for keep-alive and gets it: say so explicitly.
        var keepAliveHeader: Bool
    }

    /// A request whose head was parsed and whose body is arriving.
    struct PartialRequest: Sendable, Equatable {
        var head: HTTPRequestHead
        var body: [UInt8] = []
        /// The client waits for `100 Continue` and has sent no body byte yet.
        var awaitingContinue: Bool
        /// Shutdown was requested: the response to this request closes the connection.
        var closeAfterResponse: Bool
    }

    /// The facts of a dispatched request head that shape its response's framing.
    struct DispatchedRequest: Sendable {
        /// The connection may carry another request (RFC 9112 §9.3).
        var keepAlive = true
        /// The response to HEAD has no body (RFC 9110 §9.3.2).
        var isHead = false
        /// An HTTP/1.0 client that keeps the connection is told so explicitly.
        var isHTTP10 = false

        init() {}

        /// Borrowed: an initializer's parameter is owned by default, so the caller copied
        /// (retained) the head for it and the initializer released it.
        init(_ head: borrowing HTTPRequestHead) {
            // From the fact bits read in place: `head.keepAlive` passed the fields on (a retain
            // and a release per request).
            keepAlive = head.version.keepsAlive(factBits: head.fields.factBits)
            isHead = Self.isHEAD(head.method)
            // The parts compared: `==` on `HTTPVersion` went through its generic witness.
            let version = head.version
            isHTTP10 = version.major == 1 && version.minor == 0
        }

        /// `method == "HEAD"`, with the length compared first: most methods (`GET`) differ in
        /// it, and the string comparison is a call.
        private static func isHEAD(_ method: String) -> Bool {
            method.utf8.count == 4 && method == "HEAD"
        }
    }

    /// Where the connection stands; each state carries the data it needs.
    enum State: Sendable, Equatable {
        /// Between requests with nothing buffered (also before the first request).
        case idle
        /// Part of a request head is buffered.
        case readingHead(closeAfterResponse: Bool)
        /// The head was parsed; its body is arriving.
        case readingBody(PartialRequest)
        /// The handler has the request; its response is awaited. The head went to the handler
        /// (what the response's framing needs of it is in `DispatchedRequest`): kept here too,
        /// it was one more owner, a retain and a release per request.
        case handling(closeAfterResponse: Bool)
        /// A final response is being written; `then` says what follows.
        case writing(then: AfterWrite)
        case closed
    }

    /// What follows a written response.
    enum AfterWrite: Sendable, Equatable {
        /// Go on with the next request (keep-alive).
        case readNext
        /// The peer closed its side: answer requests already buffered whole, then close.
        case answerBufferedAndClose
        case close
    }

    /// Result of `start()`.
    enum StartAction: Sendable, Equatable {
        /// Read the first request under `arm` (the header deadline counts from accepting).
        case readMore(arm: Deadline)
    }

    /// Result of `readable(_:)`.
    enum ReadableAction: Sendable, Equatable {
        /// The bytes wait in the parser until the response in progress is written.
        case doNothing
        /// Read more (resuming reading if it was stopped); arm `arm` from now, or keep the
        /// running read deadline when nil.
        case readMore(arm: Deadline?)
        /// A request is complete: stop reading, cancel the read deadline, call the handler.
        case dispatch(HTTPRequestHead, body: [UInt8])
        /// Write `100 Continue` (RFC 9110 §10.1.1), arm `arm`, and read the body.
        case sendContinue(arm: Deadline)
        /// Stop reading and write an error response; it closes the connection.
        case write(Output)
    }

    /// Result of `endOfInput()`.
    enum EndOfInputAction: Sendable, Equatable {
        /// A request is in flight: its response is still written, then the connection closes.
        case doNothing
        case close
    }

    /// Result of `responseReady(_:)`.
    enum ResponseReadyAction: Sendable, Equatable {
        /// No request awaits a response (for example after the connection closed).
        case doNothing
        /// Stop reading and write `output`; then report `writeCompleted()`.
        case write(Output)
    }

    /// Result of `writeCompleted()`: close, or go on with bytes already buffered.
    enum WriteCompletedAction: Sendable, Equatable {
        case doNothing
        case close
        /// Read the next request; nothing is armed after a write, so `arm` is never nil here.
        case readMore(arm: Deadline?)
        /// A pipelined request was already buffered completely.
        case dispatch(HTTPRequestHead, body: [UInt8])
        case sendContinue(arm: Deadline)
        /// The buffered bytes broke the protocol: write this error response, then close.
        case write(Output)
    }

    /// Result of `deadlineExpired()`.
    enum DeadlineExpiredAction: Sendable, Equatable {
        /// No read deadline applies (a slow handler is not the client's fault).
        case doNothing
        /// An idle keep-alive connection timed out: close without a word.
        case close
        /// A head or body was too slow: write this 408, then close.
        case write(Output)
    }

    /// Result of `shutdownRequested()`.
    enum ShutdownAction: Sendable, Equatable {
        /// A request is in flight: its response says `Connection: close`.
        case doNothing
        case close
    }

    /// What parsing buffered bytes leads to; each event turns it into its own action.
    enum ParseResult: Sendable, Equatable {
        case needMore(arm: Deadline?)
        case dispatch(HTTPRequestHead, body: [UInt8])
        case sendContinue(arm: Deadline)
        case fail(Output)
    }
}

extension ServerConnection.StateMachine.ReadableAction {
    /// `consuming`: the head and body move on (see `ServerConnection.Step`).
    init(_ result: consuming ServerConnection.StateMachine.ParseResult) {
        switch consume result {
        case .needMore(let arm): self = .readMore(arm: arm)
        case .dispatch(let head, let body): self = .dispatch(head, body: body)
        case .sendContinue(let arm): self = .sendContinue(arm: arm)
        case .fail(let output): self = .write(output)
        }
    }
}

extension ServerConnection.StateMachine.WriteCompletedAction {
    /// `consuming`: the head and body move on (see `ServerConnection.Step`).
    init(_ result: consuming ServerConnection.StateMachine.ParseResult) {
        switch consume result {
        case .needMore(let arm): self = .readMore(arm: arm)
        case .dispatch(let head, let body): self = .dispatch(head, body: body)
        case .sendContinue(let arm): self = .sendContinue(arm: arm)
        case .fail(let output): self = .write(output)
        }
    }
}

extension HTTPServerResponse: Equatable {
    /// Field by field, so the state machines' actions can be compared in tests.
    package static func == (lhs: HTTPServerResponse, rhs: HTTPServerResponse) -> Bool {
        lhs.status == rhs.status && lhs.headers == rhs.headers && lhs.body == rhs.body
            && lhs.closeConnection == rhs.closeConnection
    }
}
