import Testing
import TokenProxyCore

/// Edge cases of the word-at-a-time line scan: line ends and stray CRs on every side of a
/// word and a read boundary, heads that arrive in many pieces, fields at the limits.
@Suite(.timeLimit(.minutes(1)))
struct HTTPParserScanTests {
    static let head =
        "GET /v1/token/a HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\n"
        + "Accept: */*\r\nX-Long: \(String(repeating: "0123456789", count: 7))\tend\r\n"
        + "Content-Length: 3\r\n\r\nabc"

    @Test func everySplitOfAHeadReadsTheSame() throws {
        let whole = try parseEvents(Self.head)
        #expect(whole.count == 3)
        guard case .requestHead(let head)? = whole.first else {
            Issue.record("no head")
            return
        }
        #expect(head.fields.count == 5)
        #expect(head.fields["x-long"]?.hasSuffix("89\tend") == true)
        let bytes = Array(Self.head.utf8)
        for cut in 1..<bytes.count {
            #expect(try parseEvents(bytes, splits: [cut]) == whole, "cut at \(cut)")
        }
        // One byte per read, and pieces of 3 and 7 (never aligned with the 8-byte words).
        for size in [1, 3, 7] {
            let cuts = Array(stride(from: size, to: bytes.count, by: size))
            #expect(try parseEvents(bytes, splits: cuts) == whole, "pieces of \(size)")
        }
    }

    @Test func strayCarriageReturnAnywhereInALineIsRefused() {
        // A CR at every offset of a field line (before, at and after a word boundary, in the
        // name and in the value), with the head arriving whole and split right after the CR.
        let line = Array("X-Field-Name: value-bytes-here".utf8)
        for offset in 0..<line.count {
            var bad = line
            bad[offset] = 0x0D
            let input = Array("GET / HTTP/1.1\r\nHost: h\r\n".utf8) + bad + Array("\r\n\r\n".utf8)
            for splits in [[], [25 + offset], [26 + offset]] {
                #expect(
                    throws: HTTPParseError.invalidLineEnding, "CR at \(offset), splits \(splits)"
                ) { try parseEvents(input, splits: splits) }
            }
        }
    }

    @Test func strayCarriageReturnAnywhereInAStartLineIsRefused() {
        // Start lines are searched for a CR only when their parse fails: a CR at every offset
        // of a request line and of a status line is still `invalidLineEnding`, never the
        // request-line or status-line error, whole and split around the CR.
        let cases: [(line: String, rest: String, mode: HTTPParser.Mode)] = [
            ("GET /api/small?q=1 HTTP/1.1", "\r\nHost: h\r\n\r\n", .request),
            ("HTTP/1.1 200 Fine and dandy", "\r\nContent-Length: 0\r\n\r\n", .response),
        ]
        for (line, rest, mode) in cases {
            let bytes = Array(line.utf8)
            for offset in 0..<bytes.count {
                var bad = bytes
                bad[offset] = 0x0D
                let input = bad + Array(rest.utf8)
                for splits in [[], [offset], [offset + 1]] {
                    #expect(
                        throws: HTTPParseError.invalidLineEnding,
                        "\(line): CR at \(offset), splits \(splits)"
                    ) { try parseEvents(input, mode: mode, splits: splits) }
                }
            }
        }
    }

    @Test func strayCarriageReturnIsJudgedAtTheLineEndWhateverTheSplit() throws {
        // The CR and LF are found in one pass; a CR not followed by LF is refused only at the
        // line's LF, so what the limit or the end of stream says first wins the same way
        // whether the bytes come whole or one at a time.
        let limits = HTTPLimits(maxHeadBytes: 40)
        let cases: [(String, HTTPParseError, Bool)] = [
            ("GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n", .invalidLineEnding, false),
            ("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", .invalidLineEnding, false),
            ("GET / HTTP/1.1\r\nX: \r" + String(repeating: "y", count: 30), .headTooLarge, false),
            ("GET / HTTP/1.1\r\nHost: h\rx", .unexpectedEnd, true),
            ("GET / HTTP/1.1\r\nHost: h\r", .unexpectedEnd, true),
        ]
        for (input, error, endOfStream) in cases {
            let bytes = Array(input.utf8)
            for splits in [[], Array(1..<bytes.count)] {
                #expect(throws: error, "\(input.debugDescription), \(splits.count) splits") {
                    try parseEvents(bytes, limits: limits, splits: splits, endOfStream: endOfStream)
                }
            }
        }
    }

    @Test func requestLinesOutsideTheOrdinaryShapeKeepTheirErrors() {
        // The one-pass reading takes only `tchars SP visible-ASCII SP HTTP/1.x`; everything
        // else is judged part by part, with the same error kinds as before.
        let cases: [(String, HTTPParseError?)] = [
            ("GET /a HTTP/1.1", nil), ("get /a HTTP/1.0", nil), ("M-X_1 * HTTP/1.1", nil),
            ("GET /a HTTP/1.2", .unsupportedVersion), ("GET /a HTTP/2.0", .unsupportedVersion),
            ("GET /a HTTP/1.x", .invalidRequestLine), ("GET /a http/1.1", .invalidRequestLine),
            ("GET  /a HTTP/1.1", .invalidRequestLine), ("GET /a  HTTP/1.1", .invalidRequestLine),
            ("GET /a b HTTP/1.1", .invalidRequestLine), ("GET\t/a HTTP/1.1", .invalidRequestLine),
            ("GET /a\tHTTP/1.1", .invalidRequestLine), ("G(T /a HTTP/1.1", .invalidRequestLine),
            (" GET /a HTTP/1.1", .invalidRequestLine), ("GET HTTP/1.1", .invalidRequestLine),
            ("GET /a HTTP/1.1 ", .invalidRequestLine), ("GET / HTTP/1.10", .invalidRequestLine),
            ("GET /\u{7F} HTTP/1.1", .invalidRequestLine), ("GET /é HTTP/1.1", .invalidRequestLine),
            ("GET /" + String(repeating: "a", count: 60) + " HTTP/1.1", .requestTargetTooLong),
            (
                "GET /" + String(repeating: "a", count: 40) + "\u{7F} HTTP/1.1",
                .requestTargetTooLong
            ),
            ("GET /" + String(repeating: "a", count: 38) + " HTTP/1.1", nil),
        ]
        let limits = HTTPLimits(maxRequestTargetBytes: 39)
        for (line, error) in cases {
            #expect(
                parseError(line + "\r\nHost: h\r\n\r\n", limits: limits) == error,
                "\(line.debugDescription)")
        }
    }

    @Test func aRepeatedTargetReadsTheSameOnEveryRequest() throws {
        let long = "/v1/tokens/" + String(repeating: "n", count: 30)
        let input = [long, long, "/a", "/a", "/b", long].map {
            "GET \($0) HTTP/1.1\r\nHost: h\r\n\r\n"
        }.joined()
        let targets = try parseEvents(input).compactMap { event -> String? in
            guard case .requestHead(let head) = event else { return nil }
            return head.target
        }
        #expect(targets == [long, long, "/a", "/a", "/b", long])
    }

    @Test func bareLineFeedsAreRefusedAtEveryOffset() {
        for offset in 0..<30 {
            let name = String(repeating: "n", count: offset)
            #expect(
                parseError("GET / HTTP/1.1\r\nHost: h\r\nX\(name): v\n\r\n") == .invalidLineEnding)
            #expect(
                parseError("GET / HTTP/1.1\r\nHost: h\(name)\nX: v\r\n\r\n") == .invalidLineEnding)
        }
    }

    @Test func carriageReturnAndLineFeedInSeparateReads() throws {
        var parser = HTTPParser(mode: .request)
        parser.feed(Array("GET / HTTP/1.1\r".utf8))
        #expect(try parser.next() == nil)
        parser.feed(Array("\nHost: h\r".utf8))
        #expect(try parser.next() == nil)
        parser.feed(Array("\n\r".utf8))
        #expect(try parser.next() == nil)
        parser.feed(Array("\n".utf8))
        guard case .requestHead(let head)? = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(head.fields["Host"] == "h")
    }

    @Test func controlBytesInValuesAtEveryOffset() {
        for offset in 0..<20 {
            let before = String(repeating: "v", count: offset)
            for control in ["\u{0}", "\u{1}", "\u{1F}", "\u{7F}"] {
                #expect(
                    parseError("GET / HTTP/1.1\r\nHost: h\r\nX: \(before)\(control)v\r\n\r\n")
                        == .invalidFieldValue, "\(control.unicodeScalars.first!.value) at \(offset)"
                )
            }
            // HTAB and obs-text are allowed anywhere inside a value.
            #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nX: \(before)\t\u{E9}v\r\n\r\n") == nil)
        }
    }

    @Test func fieldNameErrorsKeepTheirKinds() throws {
        let head = "GET / HTTP/1.1\r\nHost: h\r\n"
        #expect(parseError(head + ": v\r\n\r\n") == .invalidFieldName)
        #expect(parseError(head + "NoColon\r\n\r\n") == .invalidFieldName)
        #expect(parseError(head + "Bad Name: v\r\n\r\n") == .invalidFieldName)
        #expect(parseError(head + "Name : v\r\n\r\n") == .whitespaceBeforeColon)
        #expect(parseError(head + "Name\t: v\r\n\r\n") == .whitespaceBeforeColon)
        #expect(parseError(head + "Na(me: v\r\n\r\n") == .invalidFieldName)
        #expect(parseError(head + "N\u{E9}: v\r\n\r\n") == .invalidFieldName)
        #expect(parseError(head + " X: v\r\n\r\n") == .obsoleteLineFolding)
        // A colon inside the value is only part of it.
        #expect(try parseEvents(head + "X:a:b:\r\n\r\n").first.map(Self.fields)?["x"] == "a:b:")
    }

    @Test func fieldsAtTheSizeLimits() throws {
        // A head of exactly `maxHeadBytes` passes; one byte more is 431.
        let start = "GET / HTTP/1.1\r\nHost: h\r\nX: "
        let fixed = start.utf8.count + 4  // the value's CRLF and the empty line
        let limits = HTTPLimits(maxHeadBytes: 600, maxFieldCount: 4)
        let value = String(repeating: "v", count: 600 - fixed)
        let events = try parseEvents(start + value + "\r\n\r\n", limits: limits)
        #expect(events.first.map(Self.fields)?["X"]?.utf8.count == 600 - fixed)
        #expect(parseError(start + value + "w\r\n\r\n", limits: limits) == .headTooLarge)
        // Exactly `maxFieldCount` fields pass; one more is refused.
        let four = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n"
        #expect(try parseEvents(four + "\r\n", limits: limits).count == 2)
        #expect(parseError(four + "D: 4\r\n\r\n", limits: limits) == .tooManyFields)
        // A head larger than the reserved bytes and fields grows its storage intact.
        let many = (0..<40).map { "Field-\($0): \(String(repeating: "x", count: 50))\r\n" }.joined()
        let big = try parseEvents("GET / HTTP/1.1\r\nHost: h\r\n" + many + "\r\n")
        let fields = try #require(big.first.map(Self.fields))
        #expect(fields.count == 41)
        #expect(fields["field-39"] == String(repeating: "x", count: 50))
    }

    @Test func statusLinesSplitLikeBefore() throws {
        let response = "HTTP/1.1 200 Very OK Indeed\r\nContent-Length: 0\r\n\r\n"
        guard case .responseHead(let head)? = try parseEvents(response, mode: .response).first
        else {
            Issue.record("no head")
            return
        }
        #expect(head.reason == "Very OK Indeed")
        #expect(head.status == 200)
        guard
            case .responseHead(let bare)? = try parseEvents(
                "HTTP/1.1 204\r\n\r\n", mode: .response
            ).first
        else {
            Issue.record("no head")
            return
        }
        #expect(bare.reason == "")
        #expect(parseError("HTTP/1.1\r\n\r\n", mode: .response) == .invalidStatusLine)
        #expect(parseError("HTTP/1.1 20\r\n\r\n", mode: .response) == .invalidStatusLine)
        #expect(parseError("HTTP/1.1  200 OK\r\n\r\n", mode: .response) == .invalidStatusLine)
    }

    @Test(arguments: [
        "GET", "PUT", "POST", "HEAD", "DELETE", "OPTIONS", "CONNECT", "get", "Get",
        "PATCH", "GETX", "M-SEARCH",
    ])
    func methodsAreReadAsSent(method: String) throws {
        let target = method == "CONNECT" ? "h:443" : "/"
        guard
            case .requestHead(let head)? = try parseEvents(
                "\(method) \(target) HTTP/1.1\r\nHost: h\r\n\r\n"
            ).first
        else {
            Issue.record("no head")
            return
        }
        #expect(head.method == method)
    }

    @Test func reasonPhrasesAreReadAsSent() throws {
        for (line, reason) in [
            ("HTTP/1.1 200 OK", "OK"), ("HTTP/1.1 200 ok", "ok"),
            ("HTTP/1.1 404 Not Found", "Not Found"),
            ("HTTP/1.1 404 Nope", "Nope"), ("HTTP/1.1 299 ", ""), ("HTTP/1.1 200 OK ", "OK "),
        ] {
            guard
                case .responseHead(let head)? = try parseEvents(
                    line + "\r\nContent-Length: 0\r\n\r\n", mode: .response
                ).first
            else {
                Issue.record("no head for \(line)")
                continue
            }
            #expect(head.reason == reason)
        }
    }

    private static func fields(_ event: HTTPParserEvent) -> HTTPFields {
        switch event {
        case .requestHead(let head): head.fields
        case .responseHead(let head), .informationalResponse(let head): head.fields
        case .body, .end: HTTPFields()
        }
    }
}
