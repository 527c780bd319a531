import TokenProxyCore

extension ProxyConnection {
    /// The I/O work any state-machine action comes down to.
    ///
    /// The machine answers each event with that event's own action enum, which says exactly
    /// what can follow it; the connection funnels them into this one loop variable so that
    /// `run()` carries out one step after another without recursion.
    enum Step: Sendable, Equatable {
        case doNothing
        /// Read from the client; arm the deadline unless nil.
        case readMore(StateMachine.Deadline?)
        case decideRoute(HTTPRequestHead)
        /// Answer the parse error's status and close.
        case reject(HTTPParseError)
        /// Answer 408 and close.
        case requestTimeout
        case respond(HTTPServerResponse, close: Bool)
        case sendContinue
        case forward(OutgoingBody)
        case sendBody(ArraySlice<UInt8>)
        case finishBody
        case refuseTunnel
        case openTunnel(clientBytes: [UInt8])
        case close

        init(_ action: consuming StateMachine.StartAction) {
            switch consume action {
            case .readMore(let arm): self = .readMore(arm)
            }
        }

        init(_ action: consuming StateMachine.ReadableAction) {
            switch consume action {
            case .doNothing: self = .doNothing
            case .readMore(let arm): self = .readMore(arm)
            case .decideRoute(let head): self = .decideRoute(head)
            case .reject(let error): self = .reject(error)
            case .forward(let body): self = .forward(body)
            case .sendBody(let bytes): self = .sendBody(bytes)
            case .finishBody: self = .finishBody
            case .respond(let response, let close): self = .respond(response, close: close)
            case .close: self = .close
            }
        }

        init(_ action: consuming StateMachine.RouteDecidedAction) {
            switch consume action {
            case .respond(let response, let close): self = .respond(response, close: close)
            case .readMore(let arm): self = .readMore(arm)
            case .sendContinue: self = .sendContinue
            case .forward(let body): self = .forward(body)
            case .reject(let error): self = .reject(error)
            case .refuseTunnel: self = .refuseTunnel
            case .openTunnel(let bytes): self = .openTunnel(clientBytes: bytes)
            }
        }

        init(_ action: consuming StateMachine.ContinueSentAction) {
            switch consume action {
            case .readMore(let arm): self = .readMore(arm)
            case .forward(let body): self = .forward(body)
            case .reject(let error): self = .reject(error)
            }
        }

        init(_ action: consuming StateMachine.BodyPartSentAction) {
            switch consume action {
            case .doNothing: self = .doNothing
            case .readMore(let arm): self = .readMore(arm)
            case .sendBody(let bytes): self = .sendBody(bytes)
            case .finishBody: self = .finishBody
            case .reject(let error): self = .reject(error)
            }
        }

        init(_ action: consuming StateMachine.ResponseSentAction) {
            switch consume action {
            case .close: self = .close
            case .readMore(let arm): self = .readMore(arm)
            case .decideRoute(let head): self = .decideRoute(head)
            case .reject(let error): self = .reject(error)
            }
        }

        init(_ action: consuming StateMachine.DeadlineExpiredAction) {
            switch consume action {
            case .doNothing: self = .doNothing
            case .close: self = .close
            case .requestTimeout: self = .requestTimeout
            case .respond(let response, let close): self = .respond(response, close: close)
            }
        }
    }
}
