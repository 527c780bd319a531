import Testing
import TokenProxyCore

/// Limits are enforced while bytes arrive, not only once a message is complete.
@Suite(.timeLimit(.minutes(1)))
struct HTTPParserLimitTests {
    @Test func rejectsLongTargetWith414() {
        let target = "/" + String(repeating: "a", count: Limits.HTTP.maxRequestTargetBytes)
        #expect(parseError("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n") == .requestTargetTooLong)
    }

    @Test func acceptsTargetAtTheLimit() throws {
        let limits = HTTPLimits(maxRequestTargetBytes: 10)
        #expect(
            try parseEvents("GET /123456789 HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits).count == 2
        )
        #expect(
            parseError("GET /1234567890 HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits)
                == .requestTargetTooLong)
    }

    @Test func rejectsEndlessRequestLineBeforeItEnds() throws {
        var parser = HTTPParser(mode: .request, limits: HTTPLimits(maxRequestTargetBytes: 100))
        parser.feed(Array("GET /".utf8))
        #expect(try parser.next() == nil)
        parser.feed([UInt8](repeating: UInt8(ascii: "a"), count: 200))
        #expect(throws: HTTPParseError.requestTargetTooLong) { try parser.next() }
    }

    @Test func rejectsLargeHeadWith431() throws {
        let limits = HTTPLimits(maxHeadBytes: 100)
        let value = String(repeating: "v", count: 100)
        #expect(
            parseError("GET / HTTP/1.1\r\nHost: h\r\nX: \(value)\r\n\r\n", limits: limits)
                == .headTooLarge)
        // An endless header line fails as soon as it passes the limit, without its CRLF.
        var parser = HTTPParser(mode: .request, limits: limits)
        parser.feed(Array("GET / HTTP/1.1\r\nX: \(value)".utf8))
        #expect(throws: HTTPParseError.headTooLarge) { try parser.next() }
    }

    @Test func countsEveryHeadByteIncludingFinalEmptyLine() throws {
        let head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        let exact = HTTPLimits(maxHeadBytes: head.utf8.count)
        #expect(try parseEvents(head, limits: exact).count == 2)
        let short = HTTPLimits(maxHeadBytes: head.utf8.count - 1)
        #expect(parseError(head, limits: short) == .headTooLarge)
    }

    @Test func rejectsTooManyFieldsWith431() throws {
        let limits = HTTPLimits(maxFieldCount: 3)
        #expect(
            try parseEvents("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits)
                .count
                == 2)
        #expect(
            parseError("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits)
                == .tooManyFields)
    }

    @Test func rejectsDeclaredBodyOverLimitWith413BeforeReadingIt() {
        let limits = HTTPLimits(maxBodyBytes: 4)
        #expect(
            parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", limits: limits)
                == .bodyTooLarge)
        #expect(HTTPParseError.bodyTooLarge.status == 413)
    }

    @Test func rejectsChunkedBodyOverLimitWith413() throws {
        let limits = HTTPLimits(maxBodyBytes: 4)
        let request = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(
            try parseEvents(request + "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n", limits: limits).count == 3)
        #expect(
            parseError(request + "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n", limits: limits)
                == .bodyTooLarge)
    }

    @Test func rejectsLongChunkSizeLine() {
        let limits = HTTPLimits(maxChunkSizeLineBytes: 16)
        let request = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(
            parseError(request + "1;" + String(repeating: "e", count: 20), limits: limits)
                == .chunkSizeLineTooLong)
    }

    @Test func rejectsLargeTrailersWith431() {
        let limits = HTTPLimits(maxTrailerBytes: 20)
        let request = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        #expect(
            parseError(
                request + "X-T: " + String(repeating: "t", count: 30) + "\r\n\r\n", limits: limits)
                == .trailersTooLarge)
    }

    @Test func parsesHugeHeaderInLinearTime() throws {
        // 1 MiB of one header fed a byte at a time would take minutes if each byte re-scanned
        // the buffer; it must finish quickly and fail once past the limit.
        let limits = HTTPLimits(maxHeadBytes: 2 << 20)
        var parser = HTTPParser(mode: .request, limits: limits)
        parser.feed(Array("GET / HTTP/1.1\r\nHost: h\r\nX: ".utf8))
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 64)
        for _ in 0..<(1 << 14) {
            parser.feed(chunk)
            #expect(try parser.next() == nil)
        }
        parser.feed(Array("\r\n\r\n".utf8))
        guard case .requestHead(let head) = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(head.fields["X"]?.utf8.count == 1 << 20)
    }
}
