import TokenProxyCore

extension ServerConnection {
    /// The I/O work any state-machine action comes down to.
    ///
    /// The machine answers each event with that event's own action enum, which says exactly
    /// what can follow it; the connection funnels them all into this one loop variable so
    /// that chains (dispatch → response → write → next pipelined request) run iteratively in
    /// `run(_:)`.
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

        init(_ action: StateMachine.StartAction) {
            switch action {
            case .readMore(let arm): self = .readMore(arm)
            }
        }

        init(_ action: StateMachine.ReadableAction) {
            switch action {
            case .doNothing: self = .doNothing
            case .readMore(let arm): self = .readMore(arm)
            case .dispatch(let head, let body): self = .dispatch(head, body: body)
            case .sendContinue(let arm): self = .sendContinue(arm)
            case .write(let output): self = .write(output)
            }
        }

        init(_ action: StateMachine.EndOfInputAction) {
            switch action {
            case .doNothing: self = .doNothing
            case .close: self = .close
            }
        }

        init(_ action: StateMachine.ResponseReadyAction) {
            switch action {
            case .doNothing: self = .doNothing
            case .write(let output): self = .write(output)
            }
        }

        init(_ action: StateMachine.WriteCompletedAction) {
            switch action {
            case .doNothing: self = .doNothing
            case .close: self = .close
            case .readMore(let arm): self = .readMore(arm)
            case .dispatch(let head, let body): self = .dispatch(head, body: body)
            case .sendContinue(let arm): self = .sendContinue(arm)
            case .write(let output): self = .write(output)
            }
        }

        init(_ action: StateMachine.DeadlineExpiredAction) {
            switch action {
            case .doNothing: self = .doNothing
            case .close: self = .close
            case .write(let output): self = .write(output)
            }
        }

        init(_ action: StateMachine.ShutdownAction) {
            switch action {
            case .doNothing: self = .doNothing
            case .close: self = .close
            }
        }
    }
}

/// Carrying out each event's action: every one comes down to `run(_: Step)`.
extension ServerConnection {
    func run(_ action: StateMachine.StartAction) { run(Step(action)) }
    func run(_ action: StateMachine.ReadableAction) { run(Step(action)) }
    func run(_ action: StateMachine.EndOfInputAction) { run(Step(action)) }
    func run(_ action: StateMachine.ResponseReadyAction) { run(Step(action)) }
    func run(_ action: StateMachine.WriteCompletedAction) { run(Step(action)) }
    func run(_ action: StateMachine.DeadlineExpiredAction) { run(Step(action)) }
    func run(_ action: StateMachine.ShutdownAction) { run(Step(action)) }
}
