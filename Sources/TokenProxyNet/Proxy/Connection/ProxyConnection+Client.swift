import Glibc
import TokenProxyCore
import TokenProxyPosix

/// Carrying out the state machine's steps on the client side: reading, answering, rejecting.
extension ProxyConnection {
    /// Carries out one step; returns the next, or nil when nothing follows without an event.
    func perform(_ step: consuming Step) -> Step? {
        if case .readMore = step {} else { clientReading = false }
        switch consume step {
        case .doNothing:
            return nil
        case .close:
            closeAfterFlush()
            return nil
        case .readMore(let arm):
            if machine.awaitsRequest && shutdownRequested {
                closeAfterFlush()
                return nil
            }
            if let arm {
                let duration =
                    switch arm {
                    case .idle, .body: context.timeouts.idle
                    case .header: context.timeouts.headerRead
                    }
                readDeadline = deadline(in: duration)
            }
            clientReading = true
            return nil
        case .decideRoute(let head):
            readDeadline = nil
            return decide(head)
        case .reject(let error):
            if let current {
                writeLocal(status: error.status, text: error.reason, close: true)
                report(
                    requestHead, route: current.route, status: error.status,
                    failure: "rejected request body: \(error.reason)", start: current.start)
                self.current = nil
                exchange?.upstream?.close()
                exchange = nil
            } else {
                writeLocal(status: error.status, text: error.reason, close: true)
                report(
                    nil, route: "", status: error.status,
                    failure: "rejected request: \(error.reason)", start: EventLoop.now())
            }
            closeAfterFlush()
            return nil
        case .requestTimeout:
            writeLocal(status: 408, text: "request head not received in time", close: true)
            closeAfterFlush()
            return nil
        case .respond(let response, let close):
            readDeadline = nil
            writeResponse(response, head: current?.head, close: close)
            if let current {
                report(
                    current.head, route: current.route, status: response.status,
                    start: current.start)
            }
            current = nil
            return finishAfterFlush(.responseSent(intact: true))
        case .sendContinue:
            // We answer the expectation ourselves (and do not forward it): simplest correct.
            output.append(HTTPServerResponseEncoder.continueResponse)
            guard flushClient() else { return nil }
            return Step(machine.continueSent())
        case .forward(let body):
            readDeadline = nil
            startExchange(body)
            return nil
        case .sendBody(let bytes):
            return sendBody(bytes)
        case .finishBody:
            readDeadline = nil
            finishBody()
            return nil
        case .refuseTunnel:
            if let current {
                fail(
                    .invalidTunnelRequest(route: current.route), head: current.head,
                    route: current.route, close: true, start: current.start)
            }
            return nil
        case .openTunnel(let clientBytes):
            readDeadline = nil
            openTunnel(clientBytes: clientBytes)
            return nil
        }
    }

    /// The client socket is readable: feed what it has to the machine (or, in a tunnel, to
    /// the upstream). A read shorter than the buffer ends the round: level-triggered epoll
    /// reports anything left.
    func clientReadable() {
        let buffer = context.readBuffer
        var rounds = 0
        while clientReading && !isClosed && rounds < Limits.Proxy.readsPerEvent {
            rounds += 1
            switch SocketRead.receive(fd, into: buffer) {
            case .bytes(let count):
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                if isTunnelling {
                    tunnelClientBytes(bytes)
                } else {
                    run(Step(machine.readable(bytes)))
                }
                if count < buffer.count { return }
            case .end:
                if isTunnelling {
                    tunnelClientEnded()
                } else {
                    run(Step(machine.endOfInput()))
                }
                return
            case .wouldBlock:
                return
            case .failed:
                close()
                return
            }
        }
    }

    /// The client socket is writable again: send what is queued.
    func clientWritable() {
        _ = flushClient()
    }

    /// Sends what the client's queue holds, as far as the socket takes it now, and nothing
    /// more: no deadline, no close on a failure, no drained callback. `flushClient` (which must
    /// follow) does those, and meets a failed socket again: the send fails the same way.
    func sendQueuedClientBytes() {
        noteBuffered(output.count)
        let (progress, _) = sendOutput()
        // Progress restarts the deadline (as in `flushClient`, which may see none after this).
        if progress && !output.isEmpty { writeDeadline = deadline(in: context.timeouts.idle) }
    }

    /// Sends what the client socket takes of `output`. Returns false when the client is gone
    /// (the connection is closed then). Once all is sent, runs what waited for it.
    @discardableResult
    func flushClient() -> Bool {
        noteBuffered(output.count)
        let (progress, failed) = sendOutput()
        if failed {
            close()
            return false
        }
        if output.isEmpty {
            writeDeadline = nil
            clientDrained()
        } else if progress || writeDeadline == nil {
            // Progress restarts the deadline: it bounds a stall, not a transfer.
            writeDeadline = deadline(in: context.timeouts.idle)
        }
        return !isClosed
    }

    /// Sends `output` until it is empty, the socket takes no more, or a send fails.
    private func sendOutput() -> (progress: Bool, failed: Bool) {
        var failed = false
        var progress = false
        while !output.isEmpty && !failed {
            var sent = 0
            output.send { bytes in
                switch try? Posix.send(fd, bytes) {
                case .done(let count)?: sent = count
                case .wouldBlock?: sent = 0
                case nil: failed = true
                }
                return sent
            }
            if sent == 0 { break }
            progress = true
        }
        return (progress, failed)
    }

    /// The client took everything queued: resume what waited (an upstream paused by
    /// backpressure, the end of a response, a close).
    private func clientDrained() {
        if let after = afterFlush {
            afterFlush = nil
            switch after {
            case .close:
                close()
            case .responseSent(let intact):
                run(Step(machine.responseSent(intact: intact)))
            }
            return
        }
        resumeUpstreamAfterDrain()
    }

    /// Runs `after` once the client took every queued byte: now, when it already has.
    func finishAfterFlush(_ after: AfterFlush) -> Step? {
        guard flushClient() else { return nil }
        if output.isEmpty {
            switch after {
            case .close:
                close()
                return nil
            case .responseSent(let intact):
                return Step(machine.responseSent(intact: intact))
            }
        }
        afterFlush = after
        return nil
    }

    /// Closes once the queued output went out (an error answer before the close).
    func closeAfterFlush() {
        machine.closed()
        clientReading = false
        if let current {
            report(
                requestHead, route: current.route, status: 0, failure: "client went away",
                start: current.start)
            self.current = nil
        }
        _ = finishAfterFlush(.close)
    }

    /// Queues `status` with a short `text/plain` explanation.
    func writeLocal(status: Int, text: String, close: Bool, head: HTTPRequestHead? = nil) {
        writeResponse(
            HTTPServerResponse(
                status: status, headers: ["Content-Type": "text/plain; charset=utf-8"],
                body: Array("tokenproxy: \(text)\n".utf8)),
            head: head, close: close)
    }

    /// Queues a whole local response, encoded as the token API server encodes its own
    /// (`HTTPServerResponseEncoder`), and starts sending it.
    func writeResponse(_ response: HTTPServerResponse, head: HTTPRequestHead?, close: Bool) {
        output.append(
            HTTPServerResponseEncoder.head(
                for: response, close: close, keepAlive: head?.version == .http1_0,
                date: loop.responseDate.current()))
        if HTTPServerResponseEncoder.sendsBody(response, answeringHEAD: head?.method == "HEAD") {
            output.append(response.body)
        }
        flushClient()
    }

    /// Answers an exchange the engine could not complete, then goes on (or closes) as the
    /// machine says.
    func fail(
        _ error: ProxyEngineError, head: HTTPRequestHead?, route: String, close: Bool,
        retried: Bool = false, start: UInt64
    ) {
        // Without a head (not expected: `requestHead` finds it) nothing says the client keeps
        // the connection.
        let close = close || !(head?.keepAlive ?? false) || shutdownRequested
        writeLocal(status: error.status, text: error.description, close: close, head: head)
        report(
            head, route: route, status: error.status, failure: error.description,
            retried: retried, start: start)
        current = nil
        guard !isClosed else { return }
        if close {
            machine.closed()
            _ = finishAfterFlush(.close)
        } else if let next = finishAfterFlush(.responseSent(intact: true)) {
            run(next)
        }
    }
}
