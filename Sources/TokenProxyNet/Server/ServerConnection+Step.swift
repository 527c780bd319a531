import TokenProxyCore

extension ServerConnection {
    /// The I/O work any state-machine action comes down to.
    ///
    /// The machine answers each event with that event's own action enum, which says exactly
    /// what can follow it; the connection funnels them all into this one loop variable so
    /// that chains (dispatch → response → write → next pipelined request) run iteratively in
    /// `run(_:)`. The actions are consumed, not borrowed: their payloads (the head, the body,
    /// the response) move into the step instead of being copied and the action destroyed — a
    /// retain and a release each, atomic instructions on every request.
    enum Step: Sendable, Equatable {
        case doNothing
        /// Read (resuming reading if it was stopped); arm the deadline unless nil.
        case readMore(StateMachine.Deadline?)
        /// Stop reading and call the handler.
        case dispatch(HTTPRequestHead, body: [UInt8])
        /// Write `100 Continue`, arm the deadline and read the body.
        case sendContinue(StateMachine.Deadline)
        /// Stop reading and write a final response.
        case write(StateMachine.Output)
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
            case .dispatch(let head, let body): self = .dispatch(head, body: body)
            case .sendContinue(let arm): self = .sendContinue(arm)
            case .write(let output): self = .write(output)
            }
        }

        init(_ action: consuming StateMachine.EndOfInputAction) {
            switch consume action {
            case .doNothing: self = .doNothing
            case .close: self = .close
            }
        }

        init(_ action: consuming StateMachine.ResponseReadyAction) {
            switch consume action {
            case .doNothing: self = .doNothing
            case .write(let output): self = .write(output)
            }
        }

        init(_ action: consuming StateMachine.WriteCompletedAction) {
            switch consume action {
            case .doNothing: self = .doNothing
            case .close: self = .close
            case .readMore(let arm): self = .readMore(arm)
            case .dispatch(let head, let body): self = .dispatch(head, body: body)
            case .sendContinue(let arm): self = .sendContinue(arm)
            case .write(let output): self = .write(output)
            }
        }

        init(_ action: consuming StateMachine.DeadlineExpiredAction) {
            switch consume action {
            case .doNothing: self = .doNothing
            case .close: self = .close
            case .write(let output): self = .write(output)
            }
        }

        init(_ action: consuming StateMachine.ShutdownAction) {
            switch consume action {
            case .doNothing: self = .doNothing
            case .close: self = .close
            }
        }
    }
}

/// Carrying out each event's action: every one comes down to `run(_: Step)`.
extension ServerConnection {
    func run(_ action: consuming StateMachine.StartAction) { run(Step(action)) }
    func run(_ action: consuming StateMachine.ReadableAction) { run(Step(action)) }
    func run(_ action: consuming StateMachine.EndOfInputAction) { run(Step(action)) }
    func run(_ action: consuming StateMachine.ResponseReadyAction) { run(Step(action)) }
    func run(_ action: consuming StateMachine.WriteCompletedAction) { run(Step(action)) }
    func run(_ action: consuming StateMachine.DeadlineExpiredAction) { run(Step(action)) }
    func run(_ action: consuming StateMachine.ShutdownAction) { run(Step(action)) }
}
