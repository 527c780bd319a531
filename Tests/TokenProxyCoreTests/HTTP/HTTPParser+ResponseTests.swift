import Testing
import TokenProxyCore

/// Response framing (RFC 9112 §6.3) depends on the request method and the status.
@Suite(.timeLimit(.minutes(1)))
struct HTTPParserResponseTests {
    @Test func parsesContentLengthResponse() throws {
        let events = try parseEvents(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", mode: .response, methods: ["POST"])
        #expect(
            events == [
                .responseHead(
                    HTTPResponseHead(status: 200, reason: "OK", fields: ["Content-Length": "2"])),
                .body(ArraySlice("{}".utf8)), .end(trailers: [:]),
            ])
    }

    @Test func responseToHeadHasNoBodyDespiteContentLength() throws {
        let stream =
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let events = try parseEvents(stream, mode: .response, methods: ["HEAD", "GET"])
        #expect(events.count == 5)
        #expect(events[1] == .end(trailers: [:]))
        #expect(bodyString(events) == "ok")
    }

    @Test(arguments: [204, 304])
    func statusWithoutBodyEndsAfterHead(status: Int) throws {
        let events = try parseEvents(
            "HTTP/1.1 \(status) X\r\nContent-Length: 7\r\n\r\n", mode: .response, methods: ["GET"])
        #expect(events.count == 2)
        #expect(events.last == .end(trailers: [:]))
    }

    @Test func interimResponsesPrecedeTheFinalOne() throws {
        let stream =
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
        let events = try parseEvents(stream, mode: .response, methods: ["POST"])
        #expect(events.count == 5)
        guard case .informationalResponse(let first) = events[0],
            case .informationalResponse(let second) = events[1],
            case .responseHead(let final) = events[2]
        else {
            Issue.record("unexpected events \(events)")
            return
        }
        #expect(first.status == 100)
        #expect(second.fields["link"] == "</a>")
        #expect(final.status == 200)
    }

    @Test func readsUntilCloseWithoutFraming() throws {
        var parser = HTTPParser(mode: .response)
        parser.expectResponse(toMethod: "GET")
        parser.feed(Array("HTTP/1.0 200 OK\r\n\r\npart one,".utf8))
        guard case .responseHead(let head) = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(!head.keepAlive)
        #expect(try parser.next() == .body(ArraySlice("part one,".utf8)))
        #expect(try parser.next() == nil)
        parser.feed(Array(" two".utf8))
        #expect(try parser.next() == .body(ArraySlice(" two".utf8)))
        parser.feedEndOfStream()
        #expect(try parser.next() == .end(trailers: [:]))
        #expect(try parser.next() == nil)
    }

    @Test func acceptsIdenticalContentLengthListInResponses() throws {
        let events = try parseEvents(
            "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
            mode: .response)
        #expect(bodyString(events) == "abc")
        #expect(
            parseError("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabc", mode: .response)
                == .multipleContentLength)
    }

    @Test func parsesChunkedResponse() throws {
        let events = try parseEvents(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            mode: .response)
        #expect(bodyString(events) == "abc")
        #expect(events.last == .end(trailers: [:]))
    }

    @Test func connectSuccessTurnsConnectionIntoTunnel() throws {
        var parser = HTTPParser(mode: .response)
        parser.expectResponse(toMethod: "CONNECT")
        parser.feed(Array("HTTP/1.1 200 Connection established\r\n\r\n\u{16}\u{3}".utf8))
        guard case .responseHead(let head) = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(head.status == 200)
        #expect(try parser.next() == .end(trailers: [:]))
        #expect(parser.isTunnel)
        #expect(try parser.next() == nil)
        #expect(parser.takeRemainingBytes() == [0x16, 0x03])
    }

    @Test func refusedConnectHasABody() throws {
        let events = try parseEvents(
            "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 4\r\n\r\ndeny", mode: .response,
            methods: ["CONNECT"])
        #expect(bodyString(events) == "deny")
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK", HTTPVersion.http1_1, 200, "OK"),
        ("HTTP/1.0 404 Not Found", .http1_0, 404, "Not Found"),
        ("HTTP/1.1 200 Okay", .http1_1, 200, "Okay"),
        ("HTTP/1.1 200 ok", .http1_1, 200, "ok"),
        ("HTTP/1.1 299 \tTab  and spaces ", .http1_1, 299, "\tTab  and spaces "),
        ("HTTP/1.1 503 Tr\u{E8}s occup\u{E9}", .http1_1, 503, "Tr\u{E8}s occup\u{E9}"),
        ("HTTP/1.1 101 Switching Protocols", .http1_1, 101, "Switching Protocols"),
        ("HTTP/1.1 599 ", .http1_1, 599, ""),
    ])
    func readsStatusLinesInOnePass(
        line: String, version: HTTPVersion, status: Int, reason: String
    ) throws {
        // The one-pass read of an ordinary status line gives what the careful parse gave:
        // the version, the code, the phrase as sent (the standard one only when it is equal).
        let events = try parseEvents("\(line)\r\n\r\n", mode: .response, methods: ["HEAD"])
        guard case .responseHead(let head) = events.first else {
            Issue.record("no head for \(line)")
            return
        }
        #expect(head.version == version)
        #expect(head.status == status)
        #expect(head.reason == reason)
    }

    @Test(arguments: [
        ("HTTP/1.1 200\tOK", HTTPParseError.invalidStatusLine),
        ("HTTP/1.1 200 O\u{7F}K", .invalidStatusLine),
        ("HTTP/1.1 200 O\u{1}K", .invalidStatusLine),
        ("HTTP/1.1 000 OK", .invalidStatusLine),
        ("HTTP/1.1 20x OK", .invalidStatusLine),
        ("HTTP/1.1 2:0 OK", .invalidStatusLine),
        ("HTTP/1.1\t200 OK", .invalidStatusLine),
        ("HTTP/1.3 200 OK", .unsupportedVersion),
        ("HTTP/1.1 200OK", .invalidStatusLine),
    ])
    func refusesStatusLinesTheOnePassReadDeclines(line: String, error: HTTPParseError) {
        #expect(parseError("\(line)\r\n\r\n", mode: .response) == error, "\(line)")
    }

    @Test func acceptsStatusLineWithoutReason() throws {
        for line in ["HTTP/1.1 200 ", "HTTP/1.1 200"] {
            let events = try parseEvents("\(line)\r\nContent-Length: 0\r\n\r\n", mode: .response)
            guard case .responseHead(let head) = events.first else {
                Issue.record("no head")
                return
            }
            #expect(head.reason == "")
        }
    }

    @Test(arguments: [
        ("HTTP/1.1 20 OK\r\n\r\n", HTTPParseError.invalidStatusLine),
        ("HTTP/1.1 2000 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 099 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 abc OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1  200 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 200 O\u{0}K\r\n\r\n", .invalidStatusLine),
        ("HTTP/2 200 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/3.0 200 OK\r\n\r\n", .unsupportedVersion),
        ("\r\nHTTP/1.1 200 OK\r\n\r\n", .invalidStatusLine),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            .contentLengthWithTransferEncoding
        ),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", .unsupportedTransferEncoding),
        ("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", .invalidContentLength),
        ("HTTP/1.1 200 OK\r\nX : y\r\n\r\n", .whitespaceBeforeColon),
    ])
    func rejectsMalformedResponse(input: String, expected: HTTPParseError) {
        #expect(parseError(input, mode: .response) == expected)
    }

    @Test func rejectsTruncatedResponseBody() {
        #expect(
            parseError(
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", mode: .response, endOfStream: true
            )
                == .unexpectedEnd)
    }

    @Test func parsesResponsesAtEverySplitPoint() throws {
        let stream =
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc"
            + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x\r\nde\r\n0\r\nT: v\r\n\r\n"
            + "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
            + "HTTP/1.0 200 OK\r\n\r\nrest of stream"
        let methods = ["POST", "GET", "GET", "HEAD", "GET"]
        let whole = try parseEvents(stream, mode: .response, methods: methods, endOfStream: true)
        #expect(whole.count == 14)
        for split in 0...stream.utf8.count {
            let events = try parseEvents(
                stream, mode: .response, methods: methods, splits: [split], endOfStream: true)
            #expect(events == whole, "split at \(split)")
        }
    }
}
