import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct HTTPParserTests {
    @Test func parsesSimpleRequest() throws {
        let events = try parseEvents(
            "GET /v1/tokens/a?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
        #expect(
            events == [
                .requestHead(
                    HTTPRequestHead(
                        method: "GET", target: "/v1/tokens/a?x=1",
                        fields: ["Host": "localhost", "Accept": "*/*"])),
                .end(trailers: [:]),
            ])
    }

    @Test func trimsOptionalWhitespaceAroundValues() throws {
        let events = try parseEvents("GET / HTTP/1.1\r\nHost:\t localhost \t\r\nX-Empty:\r\n\r\n")
        guard case .requestHead(let head) = events.first else {
            Issue.record("no head")
            return
        }
        #expect(head.fields["host"] == "localhost")
        #expect(head.fields["X-Empty"] == "")
    }

    @Test func keepsDuplicateFieldsInOrder() throws {
        let events = try parseEvents(
            "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nX-A: 3\r\n\r\n")
        guard case .requestHead(let head) = events.first else {
            Issue.record("no head")
            return
        }
        #expect(head.fields.values("X-A") == ["1", "2", "3"])
    }

    @Test func readsContentLengthBody() throws {
        let events = try parseEvents(
            "POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        #expect(events.count == 3)
        #expect(bodyString(events) == "hello")
        #expect(events.last == .end(trailers: [:]))
    }

    @Test func ignoresEmptyLinesBeforeRequestLine() throws {
        let events = try parseEvents("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(events.count == 2)
    }

    @Test func acceptsHTTP10WithoutHost() throws {
        let events = try parseEvents("GET / HTTP/1.0\r\n\r\n")
        guard case .requestHead(let head) = events.first else {
            Issue.record("no head")
            return
        }
        #expect(head.version == .http1_0)
        #expect(!head.keepAlive)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: h\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n", false),
        ("GET / HTTP/1.0\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        ("GET / HTTP/1.0\r\nConnection: Keep-Alive, close\r\n\r\n", false),
    ])
    func determinesKeepAlive(request: String, keepAlive: Bool) throws {
        let events = try parseEvents(request)
        guard case .requestHead(let head) = events.first else {
            Issue.record("no head")
            return
        }
        #expect(head.keepAlive == keepAlive)
    }

    @Test func parsesPipelinedRequestsAtEverySplitPoint() throws {
        let stream =
            "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
            + "GET /b HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n"
            + "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
            + "\r\nDELETE /d HTTP/1.0\r\nConnection: close\r\n\r\n"
        let whole = try parseEvents(stream)
        #expect(whole.count == 10)
        let byteCount = stream.utf8.count
        for split in 0...byteCount {
            #expect(try parseEvents(stream, splits: [split]) == whole, "split at \(split)")
        }
        for (first, second) in [(1, 2), (17, 40), (60, 61), (100, 130), (150, 151)] {
            #expect(try parseEvents(stream, splits: [first, second]) == whole)
        }
        #expect(
            try parseEvents(stream, splits: Array(0...byteCount)) == whole, "one byte at a time")
    }

    @Test func waitsForMoreBytesWithoutEvents() throws {
        var parser = HTTPParser(mode: .request)
        parser.feed(Array("GET / HTTP/1.1\r\nHost: h\r\n".utf8))
        #expect(try parser.next() == nil)
        parser.feed(Array("\r".utf8))
        #expect(try parser.next() == nil)
        parser.feed(Array("\n".utf8))
        #expect(try parser.next() != nil)
        #expect(try parser.next() == .end(trailers: [:]))
        #expect(parser.isIdle)
    }

    @Test func treatsEndOfStreamBetweenMessagesAsClean() throws {
        let events = try parseEvents("GET / HTTP/1.1\r\nHost: h\r\n\r\n", endOfStream: true)
        #expect(events.count == 2)
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\nHo",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ])
    func rejectsEndOfStreamInsideMessage(input: String) {
        #expect(parseError(input, endOfStream: true) == .unexpectedEnd)
    }

    @Test func staysFailedAfterAnError() throws {
        var parser = HTTPParser(mode: .request)
        parser.feed(Array("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.invalidFieldName) { try parser.next() }
        parser.feed(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.invalidFieldName) { try parser.next() }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct HTTPParserBufferTests {
    /// Parses one whole request fed at once and returns the parser, its message consumed.
    private func parsed(_ text: String) throws -> HTTPParser {
        var parser = HTTPParser(mode: .request)
        parser.feed(Array(text.utf8))
        while let event = try parser.next() {
            if case .end = event { break }
        }
        _ = try parser.next()
        return parser
    }

    /// An idle keep-alive connection does not keep the largest head it ever received.
    @Test func freesALargeEmptiedBuffer() throws {
        let large =
            "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \(String(repeating: "p", count: 8000))\r\n\r\n"
        let parser = try parsed(large)
        #expect(parser.isIdle)
        #expect(parser.buffer.capacity <= Limits.HTTP.retainedBufferBytes)
    }

    /// A small request's buffer is kept for the next one (no allocation per request).
    @Test func keepsASmallEmptiedBuffer() throws {
        let parser = try parsed("GET /v1/tokens/a HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(parser.isIdle)
        #expect(parser.buffer.capacity > 0)
    }
}
