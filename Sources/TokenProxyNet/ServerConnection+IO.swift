import CLinuxShims
import Dispatch
import Glibc

/// Reading, writing and the deadline timer of a `ServerConnection`, all on its queue.
extension ServerConnection {
    enum SendOutcome: Equatable {
        /// The socket took every byte.
        case done
        /// The rest waits in `pending` for the socket to become writable.
        case pending
        /// The peer is gone (EPIPE, ECONNRESET, …): close.
        case failed
    }

    static let continueBytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// The read source fired: feed what the socket has to the state machine.
    ///
    /// dispatch re-arms the (level-triggered) source after this returns, so a read shorter
    /// than the buffer ends the loop without the extra `recv` that would only say EAGAIN.
    func readable() {
        while !isClosed && !readSuspended {
            let count = readBuffer.withUnsafeMutableBytes { buffer in
                recv(fd, buffer.baseAddress, buffer.count, 0)
            }
            if count > 0 {
                run(machine.readable(readBuffer[0..<count]))
                if count < readBuffer.count { return }
            } else if count == 0 {
                run(machine.endOfInput())
                return
            } else {
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK: return
                default:
                    close()
                    return
                }
            }
        }
    }

    func resumeReading() {
        guard readSuspended, let readSource else { return }
        readSuspended = false
        readSource.resume()
    }

    func suspendReading() {
        guard !readSuspended, let readSource else { return }
        readSuspended = true
        readSource.suspend()
    }

    /// Writes `head` and `body` with one `sendmsg` (gathering both, so a response costs one
    /// syscall and goes out in one segment); queues what the socket does not take.
    /// MSG_NOSIGNAL turns a vanished peer into EPIPE instead of a process-killing SIGPIPE.
    func send(_ head: [UInt8], _ body: [UInt8] = [], isResponse: Bool) -> SendOutcome {
        if pendingOffset < pending.count {
            // Earlier output (a 100 Continue) is still queued: keep the order.
            pending.append(contentsOf: head)
            pending.append(contentsOf: body)
            pendingHasResponse = pendingHasResponse || isResponse
            return .pending
        }
        let total = head.count + body.count
        var sent = 0
        while true {
            sent = head.withUnsafeBytes { headBytes in
                body.withUnsafeBytes { bodyBytes in
                    var vectors = (
                        iovec(
                            iov_base: UnsafeMutableRawPointer(mutating: headBytes.baseAddress),
                            iov_len: headBytes.count),
                        iovec(
                            iov_base: UnsafeMutableRawPointer(mutating: bodyBytes.baseAddress),
                            iov_len: bodyBytes.count)
                    )
                    return withUnsafeMutableBytes(of: &vectors) { raw in
                        var message = msghdr()
                        message.msg_iov = raw.baseAddress!.assumingMemoryBound(to: iovec.self)
                        message.msg_iovlen = bodyBytes.isEmpty ? 1 : 2
                        return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                    }
                }
            }
            if sent >= 0 { break }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: sent = 0
            default: return .failed
            }
            break
        }
        if sent == total { return .done }
        // Rare (a full socket buffer): copy the rest once and wait for writability.
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
        if sent < head.count {
            pending.append(contentsOf: head[sent...])
            pending.append(contentsOf: body)
        } else {
            pending.append(contentsOf: body[(sent - head.count)...])
        }
        pendingHasResponse = isResponse
        writeDeadline = DispatchTime.now().uptimeNanoseconds + timeouts.write
        updateTimer()
        resumeWriting()
        return .pending
    }

    /// The write source fired: push queued output; when it is gone, report the response done.
    private func writable() {
        while pendingOffset < pending.count {
            let count = pending.withUnsafeBytes { bytes in
                Glibc.send(
                    fd, bytes.baseAddress! + pendingOffset, bytes.count - pendingOffset,
                    Int32(MSG_NOSIGNAL))
            }
            if count >= 0 {
                pendingOffset += count
                // Progress restarts the write deadline: it bounds a stall, not a transfer.
                writeDeadline = DispatchTime.now().uptimeNanoseconds + timeouts.write
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return
            } else {
                close()
                return
            }
        }
        pending.removeAll(keepingCapacity: false)
        pendingOffset = 0
        writeDeadline = nil
        if !writeSuspended, let writeSource {
            writeSuspended = true
            writeSource.suspend()
        }
        if pendingHasResponse {
            pendingHasResponse = false
            run(machine.writeCompleted())
        }
    }

    private func resumeWriting() {
        if writeSource == nil {
            let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [self] in writable() }
            source.setCancelHandler { [self] in sourceCancelled() }
            writeSource = source
            openSources += 1
        }
        guard writeSuspended, let writeSource else { return }
        writeSuspended = false
        writeSource.resume()
    }

    func setReadDeadline(_ deadline: StateMachine.Deadline) {
        readDeadline = DispatchTime.now().uptimeNanoseconds + timeouts.duration(of: deadline)
        updateTimer()
    }

    /// Moves the timer earlier when a deadline needs it; never later. A deadline that moved
    /// later (the usual case: each keep-alive request pushes the idle deadline out) lets the
    /// timer fire early once and re-arm, instead of rescheduling it for every request.
    func updateTimer() {
        let next: UInt64?
        switch (readDeadline, writeDeadline) {
        case (let read?, let write?): next = min(read, write)
        case (let read?, nil): next = read
        case (nil, let write?): next = write
        case (nil, nil): next = nil
        }
        guard let next, let timer else { return }
        if let firesAt = timerFiresAt, firesAt <= next { return }
        timerFiresAt = next
        timer.schedule(deadline: DispatchTime(uptimeNanoseconds: next))
    }

    func timerFired() {
        timerFiresAt = nil
        let now = DispatchTime.now().uptimeNanoseconds
        if let writeDeadline, writeDeadline <= now {
            close()
            return
        }
        if let deadline = readDeadline, deadline <= now {
            readDeadline = nil
            run(machine.deadlineExpired())
        }
        if !isClosed { updateTimer() }
    }
}
