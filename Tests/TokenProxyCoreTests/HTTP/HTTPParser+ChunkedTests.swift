import Testing
import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct HTTPParserChunkedTests {
    static let head = "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"

    @Test func decodesChunksWithExtensionsAndTrailers() throws {
        let events = try parseEvents(
            Self.head
                + "5;a=b;c=\"d e\"\r\nhello\r\n6 ; ext\r\n world\r\n0\r\nX-Sum: 1\r\nX-Sum: 2\r\n\r\n"
        )
        #expect(bodyString(events) == "hello world")
        #expect(events.last == .end(trailers: ["X-Sum": "1", "X-Sum": "2"]))
    }

    @Test func acceptsUpperAndLowerCaseHex() throws {
        let body = String(repeating: "x", count: 0xAb)
        let events = try parseEvents(Self.head + "aB\r\n\(body)\r\n0\r\n\r\n")
        #expect(bodyString(events) == body)
    }

    @Test func transferCodingNameIsCaseInsensitive() throws {
        let events = try parseEvents(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\na\r\n0\r\n\r\n")
        #expect(bodyString(events) == "a")
    }

    @Test func endsWithEmptyTrailersWhenNoneSent() throws {
        let events = try parseEvents(Self.head + "0\r\n\r\n")
        #expect(events.count == 2)
        #expect(events.last == .end(trailers: [:]))
    }

    @Test(arguments: [
        ("zz\r\n", HTTPParseError.invalidChunkSize),
        ("\r\n", .invalidChunkSize),
        ("-1\r\n", .invalidChunkSize),
        ("0x5\r\nhello\r\n", .invalidChunkSize),
        ("5 \r\nhello\r\n", .invalidChunkSize),
        ("5 x\r\nhello\r\n", .invalidChunkSize),
        ("5;a\u{1}\r\nhello\r\n", .invalidChunkSize),
        ("fffffffffffffffffff\r\n", .invalidChunkSize),
        ("10000000000000000\r\n", .invalidChunkSize),
        ("1000000000000000\r\n", .bodyTooLarge),
        ("5\nhello\r\n", .invalidLineEnding),
        ("5\r\nhelloXY", .missingChunkTerminator),
        ("5\r\nhello\n", .missingChunkTerminator),
        ("5\r\nhello\rX", .missingChunkTerminator),
        ("0\r\nBad Trailer: x\r\n\r\n", .invalidFieldName),
        ("0\r\nX: a\r\n folded\r\n\r\n", .obsoleteLineFolding),
    ])
    func rejectsMalformedChunks(body: String, expected: HTTPParseError) {
        #expect(parseError(Self.head + body) == expected)
    }

    @Test func deliversChunkDataAsItArrives() throws {
        var parser = HTTPParser(mode: .request)
        parser.feed(Array((Self.head + "a\r\nabc").utf8))
        guard case .requestHead = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(try parser.next() == .body(ArraySlice("abc".utf8)))
        #expect(try parser.next() == nil)
        parser.feed(Array("defghij\r\n0\r\n\r\n".utf8))
        #expect(try parser.next() == .body(ArraySlice("defghij".utf8)))
        #expect(try parser.next() == .end(trailers: [:]))
    }
}
