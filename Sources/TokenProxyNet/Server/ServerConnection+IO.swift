import Glibc
import TokenProxyPosix

/// Reading, writing and deadlines of a `ServerConnection`, all on its loop's thread.
extension ServerConnection {
    enum SendOutcome: Equatable {
        /// The socket took every byte.
        case done
        /// The rest waits in `pending` for the socket to become writable.
        case pending
        /// The peer is gone (EPIPE, ECONNRESET, …): close.
        case failed
    }

    /// The socket is readable: feed what it has to the state machine.
    ///
    /// The bytes land in the loop's shared `readBuffer` and the machine's parser copies what
    /// it keeps before `readable` returns, so the buffer is free again before anything else
    /// runs (this is only ever called on the loop's thread, from `handleEvents` or
    /// `runPosted`).
    ///
    /// One read per readiness report, whatever it brought (nginx reads each ready connection
    /// once per wake-up too): reading on while reads filled the buffer let one client that kept
    /// its socket full hold the loop. A read that filled the buffer leaves `inputReady` set, so
    /// the rest is read after the other ready connections had their turn (`run`'s `.readMore`
    /// posts it); a shorter one emptied the socket, and epoll reports the next bytes.
    func readable() {
        guard !isClosed && readingEnabled else { return }
        let buffer = loop.readBuffer
        switch SocketRead.receive(fd, into: buffer) {
        case .bytes(let count):
            if count < buffer.count { inputReady = false }
            run(machine.readable(UnsafeRawBufferPointer(rebasing: buffer[0..<count])))
        case .end:
            inputReady = false
            run(machine.endOfInput())
        case .wouldBlock:
            inputReady = false
        case .failed:
            close()
        }
    }

    func resumeReading() {
        guard !readingEnabled else { return }
        readingEnabled = true
        updateWatch()
    }

    func suspendReading() {
        guard readingEnabled else { return }
        readingEnabled = false
        updateWatch()
    }

    /// Tells epoll what this connection waits for now. Waiting for nothing (a handler answering
    /// later) takes the descriptor out of epoll, which would otherwise keep reporting a hang-up.
    private func updateWatch() {
        var events: UInt32 = 0
        if readingEnabled { events |= Epoll.input }
        if writingEnabled { events |= Epoll.output }
        // Edge-triggered: see `inputReady`. Adding or changing interest makes epoll check the
        // socket at once, so what arrived while it was not watched is still reported.
        let wanted = events == 0 ? nil : events | Epoll.edgeTriggered
        do {
            try loop.watch(
                fd: fd, token: EventLoopToken.apiConnection(id), events: wanted,
                previous: watchedEvents)
            watchedEvents = wanted
        } catch {
            // Out of kernel memory for epoll: this connection cannot be served.
            close()
        }
    }

    /// Writes a final response: the head up to `Date` (pre-encoded for a cached token), the
    /// loop's `Date` and `Connection` tail, and the body, all three read in place from where
    /// they are kept (no array copied or retained per response) and gathered into one
    /// `sendmsg`.
    func send(_ output: StateMachine.Output) -> SendOutcome {
        loop.responseDate.withHeadTail(
            close: output.response.closeConnection, keepAlive: output.keepAliveHeader
        ) { tail in
            output.response.withWireParts(includeBody: output.includeBody) { head, body in
                send(head, tail, body, isResponse: true)
            }
        }
    }

    /// `send(_:_:_:isResponse:)` for bytes in an array (the `100 Continue`).
    func send(_ bytes: [UInt8], isResponse: Bool) -> SendOutcome {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        return bytes.withUnsafeBytes { send($0, empty, empty, isResponse: isResponse) }
    }

    /// Writes `head`, `tail` and `body` with one `sendmsg` (gathering them, so a response
    /// costs one syscall and goes out in one segment); queues what the socket does not take.
    /// MSG_NOSIGNAL turns a vanished peer into EPIPE instead of a process-killing SIGPIPE.
    /// The buffers are only read during the call: what must wait is copied into `pending`.
    func send(
        _ head: UnsafeRawBufferPointer, _ tail: UnsafeRawBufferPointer,
        _ body: UnsafeRawBufferPointer, isResponse: Bool
    ) -> SendOutcome {
        if pendingOffset < pending.count {
            // Earlier output (a 100 Continue) is still queued: keep the order.
            pending.append(contentsOf: head)
            pending.append(contentsOf: tail)
            pending.append(contentsOf: body)
            pendingHasResponse = pendingHasResponse || isResponse
            return .pending
        }
        let total = head.count + tail.count + body.count
        let result = try? Posix.send(fd, head, tail, body)
        let sent: Int
        switch result {
        case .done(let count)?: sent = count
        case .wouldBlock?: sent = 0
        case nil: return .failed
        }
        if sent == total { return .done }
        // Rare (a full socket buffer): copy the rest once and wait for writability.
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
        var skip = sent
        for part in [head, tail, body] {
            if skip >= part.count {
                skip -= part.count
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: part[skip...]))
                skip = 0
            }
        }
        pendingHasResponse = isResponse
        writeDeadline = loop.time + timeouts.write
        loop.noteDeadline(writeDeadline!)
        resumeWriting()
        return .pending
    }

    /// The socket is writable: push queued output; when it is gone, report the response done.
    func writable() {
        while pendingOffset < pending.count {
            let result = pending.withUnsafeBytes { bytes in
                try? Posix.send(fd, UnsafeRawBufferPointer(rebasing: bytes[pendingOffset...]))
            }
            switch result {
            case .done(let count)?:
                pendingOffset += count
                // Progress restarts the write deadline: it bounds a stall, not a transfer.
                writeDeadline = loop.time + timeouts.write
            case .wouldBlock?:
                return
            case nil:
                close()
                return
            }
        }
        pending.removeAll(keepingCapacity: false)
        pendingOffset = 0
        writeDeadline = nil
        if writingEnabled {
            writingEnabled = false
            updateWatch()
        }
        if pendingHasResponse {
            pendingHasResponse = false
            run(machine.writeCompleted())
        }
    }

    private func resumeWriting() {
        guard !writingEnabled else { return }
        writingEnabled = true
        updateWatch()
    }

    /// Counted from the loop's wake-up time (`EventLoop.time`): no clock read per request.
    func setReadDeadline(_ deadline: StateMachine.Deadline) {
        let at = loop.time + timeouts.duration(of: deadline)
        readDeadline = at
        loop.noteDeadline(at)
    }
}
