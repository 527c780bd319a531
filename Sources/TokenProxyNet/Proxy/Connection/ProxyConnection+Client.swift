import TokenProxyCore

/// Carrying out the state machine's steps on the client side: reading, answering, rejecting.
extension ProxyConnection {
    /// Carries out one step; returns the next, or nil when the connection is done.
    func perform(_ step: Step) -> Step? {
        switch step {
        case .doNothing:
            return nil
        case .close:
            if let current {
                // An exchange was cut short by the client (a stall, a reset, a half body).
                report(
                    current.head, route: current.route, status: 0, failure: "client went away",
                    start: current.start)
            }
            return nil
        case .readMore(let arm):
            if machine.awaitsRequest {
                // Idle: a shutdown closes the socket, which wakes this read.
                let proceed = control.withLock { control in
                    control.idle = true
                    return !control.shutdownRequested
                }
                guard proceed else { return nil }
            }
            return read(arm: arm)
        case .decideRoute(let head):
            control.withLock { $0.idle = false }
            return decide(head)
        case .reject(let error):
            if let current {
                _ = clientFailed(.parse(error), current.head, current.route, current.start)
            } else {
                rejectRequest(error)
            }
            return nil
        case .requestTimeout:
            writeLocal(status: 408, text: "request head not received in time", close: true)
            return nil
        case .respond(let response, let close):
            let written = writeResponse(response, head: current?.head, close: close)
            if let current {
                report(
                    current.head, route: current.route, status: response.status,
                    start: current.start)
            }
            return responseSent(intact: written)
        case .sendContinue:
            // We answer the expectation ourselves (and do not forward it): simplest correct.
            output += HTTPServerResponseEncoder.continueResponse
            do { try flushOutput() } catch { return .close }
            return Step(machine.continueSent())
        case .forward(let body):
            return forward(body)
        case .sendBody, .finishBody:
            // Only while a body streams upstream, inside `nextBodyPiece()`.
            return nil
        case .refuseTunnel:
            if let current {
                _ = fail(
                    .invalidTunnelRequest(route: current.route), head: current.head,
                    route: current.route, close: true, start: current.start)
            }
            return nil
        case .openTunnel(let clientBytes):
            if let current, case .tunnel(let host, let port) = current.decision {
                tunnel(current, host: host, port: port, clientBytes: clientBytes)
            }
            return nil
        }
    }

    /// Reads once from the client under the running deadline (armed anew when `arm` is set)
    /// and feeds the result to the machine.
    func read(arm: StateMachine.Deadline?) -> Step {
        if let arm {
            let duration =
                switch arm {
                case .idle, .body: configuration.idleTimeout
                case .header: configuration.headerReadTimeout
                }
            readDeadline = .now + duration
        }
        let count: Int
        do {
            count = try client.read(into: readBuffer, deadline: readDeadline)
        } catch NetError.timedOut {
            return Step(machine.deadlineExpired())
        } catch {
            machine.closed()
            return .close
        }
        if count == 0 { return Step(machine.endOfInput()) }
        return Step(machine.readable(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count])))
    }

    /// The next piece of a request body streaming upstream (valid until the next call), or
    /// nil once the request is complete.
    func nextBodyPiece() throws(ClientError) -> ArraySlice<UInt8>? {
        var step = Step(machine.bodyPartSent())
        while true {
            switch step {
            case .sendBody(let bytes): return bytes
            case .finishBody: return nil
            case .readMore(let arm): step = read(arm: arm)
            case .reject(let error): throw .parse(error)
            default: throw .gone
            }
        }
    }

    /// Writes the gathered output to the client.
    func flushOutput() throws(ClientError) {
        guard !output.isEmpty else { return }
        engine.noteBuffered(output.count)
        do {
            try client.write(output, deadline: .now + configuration.idleTimeout)
        } catch {
            output.removeAll(keepingCapacity: true)
            throw .gone
        }
        output.removeAll(keepingCapacity: true)
    }

    /// Appends `bytes` as one chunk (RFC 9112 §7.1) to the output, without building an
    /// intermediate array.
    func appendChunk(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        var size = bytes.count
        var digits: [UInt8] = []
        while size > 0 {
            let digit = UInt8(size & 0xF)
            digits.append(digit < 10 ? 0x30 + digit : 0x61 + digit - 10)
            size >>= 4
        }
        output.append(contentsOf: digits.reversed())
        output.append(contentsOf: [0x0D, 0x0A])
        output.append(contentsOf: bytes)
        output.append(contentsOf: [0x0D, 0x0A])
    }
}
