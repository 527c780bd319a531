import TokenProxyCore

/// Reading requests from and writing bytes to the client.
extension ProxyConnection {
    enum HeadOutcome {
        case head(HTTPRequestHead)
        /// The client closed, or stayed idle past the idle timeout: close quietly.
        case closed
        /// Part of a head arrived but not all of it in time: 408.
        case timedOut
        case failed(HTTPParseError)
    }

    /// Reads the next request head. Waiting for its first byte is bounded by the idle
    /// timeout (by the head timeout for the first request); from that byte on, the whole
    /// head must arrive within `headerReadTimeout`.
    func readRequestHead(first: Bool) -> HeadOutcome {
        var started = !parser.isIdle
        var deadline =
            ContinuousClock.now
            + (first || started ? configuration.headerReadTimeout : configuration.idleTimeout)
        while true {
            do {
                if let event = try parser.next() {
                    guard case .requestHead(let head) = event else {
                        // Only a bug could leave body events unread here; framing is lost.
                        return .failed(.invalidRequestLine)
                    }
                    return .head(head)
                }
            } catch {
                return .failed(error)
            }
            if clientEnded { return .closed }
            do {
                if try readClient(deadline: deadline) > 0 && !started {
                    started = true
                    deadline = .now + configuration.headerReadTimeout
                }
            } catch NetError.timedOut {
                return started ? .timedOut : .closed
            } catch {
                return .closed
            }
        }
    }

    /// The next parser event of the current request, reading as needed.
    func nextClientEvent() throws(ClientError) -> HTTPParserEvent {
        while true {
            do {
                if let event = try parser.next() { return event }
            } catch {
                throw .parse(error)
            }
            if clientEnded { throw .gone }
            do {
                _ = try readClient(deadline: .now + configuration.idleTimeout)
            } catch {
                throw .gone
            }
        }
    }

    /// The next piece of the request body (a slice of the parser's buffer: use it before the
    /// next read), or nil once the request is complete.
    func nextBodyPiece() throws(ClientError) -> ArraySlice<UInt8>? {
        switch try nextClientEvent() {
        case .body(let bytes): return bytes
        case .end: return nil
        case .requestHead, .responseHead, .informationalResponse: throw .parse(.invalidRequestLine)
        }
    }

    /// Consumes the rest of the request body, up to `limit` bytes. Returns false when the
    /// body is longer (the connection must then close) or broken.
    func discardRequestBody(limit: Int) -> Bool {
        var total = 0
        do {
            while let piece = try nextBodyPiece() {
                total += piece.count
                if total > limit { return false }
            }
            return true
        } catch {
            return false
        }
    }

    /// Reads once from the client into the parser; returns the byte count (0: end of stream).
    @discardableResult
    func readClient(deadline: ContinuousClock.Instant) throws -> Int {
        let count = try client.read(into: readBuffer, deadline: deadline)
        if count == 0 {
            clientEnded = true
            parser.feedEndOfStream()
        } else {
            parser.feed(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
        }
        return count
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
