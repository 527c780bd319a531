import TokenProxyCore

/// Calling the handler and taking its answer, synchronously or from another thread.
extension ServerConnection {
    /// Where the response to the request in flight stands. Guarded by `responseSlot`'s lock,
    /// because `respond` may run on any thread, even while `handle` is still on the stack.
    enum ResponseSlot: Sendable {
        /// No request in flight.
        case idle
        /// `handle` for request `sequence` is running on the connection's loop.
        case inHandler(sequence: Int)
        /// `respond` was called before `handle` returned (the fast path).
        case answeredInline(HTTPServerResponse)
        /// `handle` returned without answering; `respond` will hop onto the loop.
        case awaiting(sequence: Int)
    }

    /// Runs the handler for one request. Returns the response when the handler answered before
    /// returning, so it is written without a thread hop; nil when the answer comes later.
    /// `consuming`: the head and body move into the request instead of being copied (a retain
    /// and release each per request).
    func callHandler(head: consuming HTTPRequestHead, body: consuming [UInt8])
        -> HTTPServerResponse?
    {
        let request = HTTPServerRequest(
            head: head, body: body, peer: peer, listener: listenerName, receivedAt: loop.time)
        // The fast path: no closure, no slot (it stays idle).
        if let response = handler.respondNow(to: request, connectionState: &handlerState) {
            return response
        }
        requestSequence &+= 1
        let sequence = requestSequence
        responseSlot.withLock { $0 = .inHandler(sequence: sequence) }
        handler.handle(request) { [self] response in
            deliver(response, sequence: sequence)
        }
        return responseSlot.withLock { slot in
            if case .answeredInline(let response) = slot {
                slot = .idle
                return response
            }
            slot = .awaiting(sequence: sequence)
            return nil
        }
    }

    /// The handler's `respond`, from any thread. A second call for the same request, or a call
    /// after the connection moved on, is ignored: the contract is exactly once, and a broken
    /// handler must not corrupt the next exchange.
    private func deliver(_ response: HTTPServerResponse, sequence: Int) {
        let later = responseSlot.withLock { slot -> Bool in
            switch slot {
            case .inHandler(let current) where current == sequence:
                slot = .answeredInline(response)
                return false
            case .awaiting(let current) where current == sequence:
                slot = .idle
                return true
            default:
                return false
            }
        }
        guard later else { return }
        loop.execute { [self] in
            guard !isClosed else { return }
            // Shutdown began while the handler worked: this answer closes the connection,
            // whether or not the shutdown's own job reached the loop before it.
            if shutdownBegun.load(ordering: .acquiring) { run(machine.shutdownRequested()) }
            run(machine.responseReady(response))
        }
    }
}
