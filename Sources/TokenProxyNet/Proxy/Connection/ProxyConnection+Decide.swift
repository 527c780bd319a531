import TokenProxyCore

/// Asking the delegate: at once when it has the answer, else parked until it calls back.
extension ProxyConnection {
    /// Asks the delegate about `head`; a `.later` answer parks the request (nothing is read
    /// meanwhile) and resumes it on this loop when the answer comes.
    func decide(_ head: consuming HTTPRequestHead) -> Step? {
        let start = EventLoop.now()
        sequence &+= 1  // a pending answer to an earlier question is dropped
        let answer = delegate.decide(
            head, peer: peer, listener: listenerName, receivedAt: start,
            completion: decisionCompletion)
        // Consumed: the decision moves out of the answer instead of being copied from it
        // (the copy and the answer's destruction were two enum switches per request).
        switch consume answer {
        case .now(let decision):
            // Explicit `consume`: a consuming parameter is not moved at its last use by
            // itself; passed on plainly it was copied (a retain, and a release after).
            return decided(consume decision, head: consume head, start: start)
        case .later:
            parked = true
            parkedHead = (head, start)
            return nil
        }
    }

    /// The completion every `decide` call gets: made once per connection, since a closure
    /// capturing the request (its head, start and sequence number) was an allocation per
    /// request, though the delegate calls it only for a parked one. It carries no request:
    /// the answer belongs to the one parked in `parkedHead` (one question is asked at a time,
    /// and a connection leaves that state only by the answer or by closing, after which
    /// answers are dropped).
    ///
    /// It finds the connection on its loop by its token (unique per engine: the shell's
    /// connection ids only grow), not through a weak reference: a weak reference gives the
    /// connection a side table for life, and then each of its retains and releases (several
    /// per request) and the upstream's `unowned` owner took the runtime's slow path. A closed
    /// connection is no longer registered, so its late answer is dropped, as before.
    static func decisionCompletion(loop: EventLoop, token: UInt64)
        -> @Sendable (ProxyDecision) -> Void
    {
        { decision in
            loop.execute {
                (loop.registeredClient(token: token) as? ProxyConnection)?.decisionArrived(
                    decision)
            }
        }
    }

    /// The delegate's late answer, on the loop.
    private func decisionArrived(_ decision: ProxyDecision) {
        guard !isClosed, parked, let (head, start) = parkedHead else { return }
        parked = false
        parkedHead = nil
        run(decided(decision, head: head, start: start))
    }

    /// The client hung up (a FIN, a reset) while its request waited for the delegate (a token
    /// fetch, an introspection verdict, a fresh token after a 401): nobody will read the
    /// answer, so the request is reported and released now rather than at the next write,
    /// and the delegate's late answer is dropped. Like nginx (`proxy_ignore_client_abort
    /// off`), a half close counts as giving up: HTTP/1.1 cannot tell one from a close.
    func clientLeftWhileParked() {
        parked = false
        let failure = "client went away while its request waited for a token or a verdict"
        if let (head, start) = parkedHead {
            parkedHead = nil
            report(head, route: "", status: 0, failure: failure, start: start)
        } else if let current {
            report(
                requestHead, route: current.route, status: 0, failure: failure,
                start: current.start)
            self.current = nil
        }
        close()
    }

    /// Tells the machine the delegate's decision.
    private func decided(
        _ decision: consuming ProxyDecision, head: consuming HTTPRequestHead, start: UInt64
    )
        -> Step?
    {
        deliverShutdown()
        guard !isClosed else { return nil }
        // Consumed: the forward moves into `current` rather than being copied out of the
        // decision (a retain, and a release when the decision died).
        switch consume decision {
        case .respond(let response):
            current = Current(head: consume head, start: start, route: "")
            return Step(machine.routeDecided(.respond(response)))
        case .forward(let forward):
            // Compared where the last values that passed are stored: passing them here copied
            // them (a retain and a release each per request).
            let passed = context.passedBefore(forward)
            if let problem = Self.problem(
                with: forward, via: configuration.via, parsedTarget: head.target,
                viaChecked: context.viaChecked, authorizationPassed: passed.authorization,
                hostHeaderPassed: passed.hostHeader)
            {
                current = Current(
                    head: head, start: start, route: forward.routeName, forward: forward)
                failExchange(.invalidForward(route: forward.routeName, detail: problem))
                return nil
            }
            // Stored only when they changed: a store released the old value and retained the
            // new one every request.
            if !passed.authorization { context.validAuthorization = forward.authorization }
            if !passed.hostHeader { context.validTemplate = forward.template }
            context.viaChecked = true
            let route = StateMachine.Route.forward(allowedUpgrades: forward.upgrades)
            // The last use of both: they move into `current`. Stored before the checks above,
            // the forward was copied out of the decision; without `consume`, the head and the
            // forward were copied in and released after (callgrind: atomic pairs).
            current = Current(
                head: consume head, start: start, route: forward.routeName,
                forward: consume forward)
            return Step(machine.routeDecided(route))
        case .tunnel(let host, let port):
            current = Current(
                head: consume head, start: start,
                route: SocketAddress.displayName(host: host, port: port))
            tunnelTarget = (host, port)
            return Step(machine.routeDecided(.tunnel))
        }
    }

    /// Why the head for `forward` cannot go on the wire (a bad target or field from the
    /// delegate, a bad `via`), or nil. Only what did not come through the strict parser is
    /// checked: the client's own fields already passed it.
    /// `authorizationPassed` and `hostHeaderPassed` say the forward's values passed this check
    /// before (`ProxyLoopContext.passedBefore`), and `viaChecked` says `via` did: they are not
    /// scanned again — they are the same for every request of a route or a token.
    /// `parsedTarget` is the client's request-target as the strict parser accepted it, which
    /// passed the same check (`HTTPParser` refuses a request line whose target does not):
    /// a forward sending it unchanged (a route that rewrites nothing, the usual case: the
    /// very same string, compared in O(1)) is not scanned again either.
    static func problem(
        with forward: ProxyForward, via: String, parsedTarget: String? = nil,
        viaChecked: Bool = false, authorizationPassed: Bool = false, hostHeaderPassed: Bool = false
    ) -> String? {
        let target = forward.target
        guard target == parsedTarget || HTTPFields.isValidRequestTarget(target) else {
            return "invalid request target"
        }
        // No array of the fields: this runs for every request.
        if !hostHeaderPassed && !HTTPFields.isValidValue(forward.hostHeader) {
            return "invalid header field 'Host'"
        }
        if !viaChecked && !HTTPFields.isValidValue(via) { return "invalid header field 'Via'" }
        if !authorizationPassed, let authorization = forward.authorization,
            !HTTPFields.isValidValue(authorization)
        {
            return "invalid header field 'Authorization'"
        }
        for field in forward.addHeaders
        where !HTTPFields.isValidName(field.name) || !HTTPFields.isValidValue(field.value) {
            return "invalid header field '\(HTTPFields.isValidName(field.name) ? field.name : "?")'"
        }
        return nil
    }
}
