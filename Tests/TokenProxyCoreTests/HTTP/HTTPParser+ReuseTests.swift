import Testing

@testable import TokenProxyCore

/// Heads parsed one after another on one parser: the field lines are kept in the buffer until
/// the head is complete and then copied once, into the last head's storage when nothing else
/// holds it (`HTTPParser+Fields`). Every head must come out exactly as appending its lines
/// would have made it, whether the previous one was dropped (storage reused) or kept (a
/// holder never sees a later head's bytes).
@Suite(.timeLimit(.minutes(1)))
struct HTTPParserReuseTests {
    /// The fields `pairs` appended one by one, the reference every parsed head must equal
    /// byte for byte (records and facts).
    private static func appended(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(name, value) }
        return fields
    }

    private static func request(_ pairs: [(String, String)], target: String = "/") -> String {
        "GET \(target) HTTP/1.1\r\n" + pairs.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
    }

    /// Heads of growing, shrinking and no fields, in an order that takes every path: reuse
    /// in place (shorter and longer than the last), a new storage, none at all.
    private static let heads: [[(String, String)]] = [
        [("Host", "a"), ("Accept", "*/*")],
        [("Host", "example.com"), ("Connection", "keep-alive, Upgrade"), ("Upgrade", "x")],
        [("Host", "b")],
        [("Host", "c"), ("X-Long", String(repeating: "v", count: 1500))],
        [("Host", "d"), ("Expect", "100-continue"), ("Content-Length", "0")],
        [("Host", "e"), ("X-Larger-Than-Kept", String(repeating: "w", count: 3000))],
        [("Host", "f"), ("Empty", "")],
    ]

    @Test func dropsEachHeadBeforeTheNextAndGetsEveryOneRight() throws {
        var parser = HTTPParser(mode: .request)
        for pairs in Self.heads {
            parser.feed(Array(Self.request(pairs).utf8))
            guard case .requestHead(let head)? = try parser.next() else {
                Issue.record("no head")
                return
            }
            #expect(head.fields.storage == Self.appended(pairs).storage)
            #expect(head.fields == Self.appended(pairs))
            #expect(head.fields.facts == Self.appended(pairs).facts)
            guard case .end? = try parser.next() else {
                Issue.record("no end")
                return
            }
        }
        // HTTP/1.0 without Host: a head with no fields at all after heads with some.
        parser.feed(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        guard case .requestHead(let bare)? = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(bare.fields.isEmpty)
    }

    @Test func aHeadStillHeldKeepsItsFieldsWhileLaterHeadsAreParsed() throws {
        var parser = HTTPParser(mode: .request)
        var held: [HTTPRequestHead] = []
        for pairs in Self.heads {
            parser.feed(Array(Self.request(pairs, target: "/\(held.count)").utf8))
            guard case .requestHead(let head)? = try parser.next() else {
                Issue.record("no head")
                return
            }
            held.append(head)
            _ = try parser.next()
        }
        for (index, pairs) in Self.heads.enumerated() {
            #expect(held[index].fields == Self.appended(pairs))
            #expect(held[index].target == "/\(index)")
        }
    }

    @Test func aHeldFieldsCopyOutlivesItsHeadUnchanged() throws {
        var parser = HTTPParser(mode: .request)
        parser.feed(Array(Self.request(Self.heads[1]).utf8))
        // The head is dropped at the end of this function; its fields are not.
        let fields = try Self.fieldsOfNextHead(&parser)
        _ = try parser.next()
        parser.feed(Array(Self.request(Self.heads[0]).utf8))
        guard case .requestHead(let second)? = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(fields == Self.appended(Self.heads[1]))
        #expect(second.fields == Self.appended(Self.heads[0]))
    }

    private static func fieldsOfNextHead(_ parser: inout HTTPParser) throws -> HTTPFields? {
        guard case .requestHead(let head)? = try parser.next() else { return nil }
        return head.fields
    }

    @Test func responsesReuseTheirFieldsStorageToo() throws {
        var parser = HTTPParser(mode: .response)
        var held: [HTTPFields] = []
        for (index, pairs) in Self.heads.enumerated() {
            parser.expectResponse(toMethod: "HEAD")
            let text =
                "HTTP/1.1 200 OK\r\n" + pairs.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
            parser.feed(Array(text.utf8))
            guard case .responseHead(let head)? = try parser.next() else {
                Issue.record("no head")
                return
            }
            #expect(head.fields == Self.appended(pairs))
            if index % 2 == 0 { held.append(head.fields) }
            _ = try parser.next()
        }
        for (index, fields) in held.enumerated() {
            #expect(fields == Self.appended(Self.heads[index * 2]))
        }
    }

    /// Names and values of every length from 0 (values) or 1 (names) to past 16 bytes come
    /// out exactly as appended, into a new storage and into the reused one.
    @Test func copiesNamesAndValuesOfEveryShortLength() throws {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        let pairs = (0..<40).map { length in
            (
                String(letters[0..<max(1, length)]),
                String(letters.reversed()[0..<length])
            )
        }
        var parser = HTTPParser(mode: .request)
        for _ in 0..<2 {  // a new storage, then the reused one
            parser.feed(Array(Self.request([("Host", "h")] + pairs).utf8))
            guard case .requestHead(let head)? = try parser.next() else {
                Issue.record("no head")
                return
            }
            #expect(head.fields.storage == Self.appended([("Host", "h")] + pairs).storage)
            _ = try parser.next()
        }
    }

    /// Feeds `text` to `parser` as the response to `method`; its head, nil when none came.
    private static func responseHead(
        _ parser: inout HTTPParser, to method: String, _ text: String
    ) throws -> HTTPResponseHead? {
        parser.expectResponse(toMethod: method)
        parser.feed(Array(text.utf8))
        guard case .responseHead(let head)? = try parser.next() else { return nil }
        return head
    }

    /// A response head still held keeps its status, reason and fields when the parser reads
    /// the next one; once dropped, its box is refilled with the next head's parts.
    @Test func aHeldResponseHeadKeepsItsPartsWhileTheNextIsRead() throws {
        var parser = HTTPParser(mode: .response)
        func next(_ text: String) throws -> HTTPResponseHead? {
            let head = try Self.responseHead(&parser, to: "HEAD", text)
            _ = try parser.next()
            return head
        }
        let held = try next("HTTP/1.1 200 OK\r\nA: 1\r\n\r\n")
        let second = try next("HTTP/1.1 404 Gone Away\r\nB: 22\r\nC: 3\r\n\r\n")
        #expect(held?.status == 200 && held?.reason == "OK")
        #expect(held?.fields == Self.appended([("A", "1")]))
        #expect(second?.status == 404 && second?.reason == "Gone Away")
        #expect(second?.fields == Self.appended([("B", "22"), ("C", "3")]))
        for round in 0..<3 {
            let head = try next("HTTP/1.0 20\(round) Fine \(round)\r\nD: \(round)\r\n\r\n")
            #expect(head?.version == .http1_0 && head?.status == 200 + round)
            #expect(head?.reason == "Fine \(round)")
            #expect(head?.fields == Self.appended([("D", "\(round)")]))
        }
    }

    /// A response head given back (`recycle`, the proxy's way) is refilled with the next
    /// head's parts when nothing else holds it; a copy still held elsewhere keeps its parts
    /// (the next head gets a new box), and so does a head not given back.
    @Test func aResponseHeadGivenBackIsRefilledUnlessACopyIsHeld() throws {
        var parser = HTTPParser(mode: .response)
        func next(_ text: String) throws -> HTTPResponseHead? {
            try Self.responseHead(&parser, to: "GET", text)
        }
        let first = try #require(try next("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nA: 1\r\n\r\n"))
        guard case .end? = try parser.next() else { throw HTTPParseError.unexpectedEnd }
        let held = first
        parser.recycle(first)
        let second = try #require(
            try next("HTTP/1.1 404 Gone Away\r\nContent-Length: 0\r\nB: 22\r\n\r\n"))
        guard case .end? = try parser.next() else { throw HTTPParseError.unexpectedEnd }
        #expect(held.storage !== second.storage)
        #expect(held.status == 200 && held.reason == "OK")
        #expect(held.fields == Self.appended([("Content-Length", "0"), ("A", "1")]))
        let box = ObjectIdentifier(second.storage)
        parser.recycle(consume second)
        let third = try #require(
            try next("HTTP/1.0 201 Made\r\nContent-Length: 0\r\nC: 3\r\n\r\n"))
        #expect(ObjectIdentifier(third.storage) == box)
        #expect(third.version == .http1_0 && third.status == 201 && third.reason == "Made")
        #expect(third.fields == Self.appended([("Content-Length", "0"), ("C", "3")]))
        guard case .end? = try parser.next() else { throw HTTPParseError.unexpectedEnd }
        // Not given back: the parser kept no reference, so the next head has a box of its own.
        let fourth = try #require(try next("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        #expect(fourth.storage !== third.storage)
        #expect(third.status == 201 && third.fields.count == 2)
        #expect(fourth.status == 200 && fourth.fields.count == 1)
    }

    /// Request lines whose target repeats the last one's (kept in the recycled box, not made
    /// again) or not, with the previous head dropped (its box refilled) or still held (a new
    /// box, which takes a repeated target from the held one): every head has its own method,
    /// target and version, and a held head keeps them.
    @Test func startLinePartsAreRightWhetherTheTargetRepeatsOrNot() throws {
        let lines: [(method: String, target: String, version: HTTPVersion, hold: Bool)] = [
            ("GET", "/v1/tokens/a-long-enough-name", .http1_1, false),
            ("GET", "/v1/tokens/a-long-enough-name", .http1_1, false),
            ("HEAD", "/v1/tokens/a-long-enough-name", .http1_0, true),
            ("POST", "/v1/tokens/a-long-enough-name", .http1_1, true),
            ("GET", "/other", .http1_1, false),
            ("PATCH", "/other", .http1_1, true),
            ("GET", "/other?x=1", .http1_0, false),
            ("GET", "/v1/tokens/a-long-enough-name", .http1_1, false),
            ("DELETE", "/v1/tokens/a-long-enough-name", .http1_1, false),
        ]
        var parser = HTTPParser(mode: .request)
        var held: [(HTTPRequestHead, Int)] = []
        for (index, line) in lines.enumerated() {
            let host = line.version == .http1_1 ? "Host: h\r\n" : ""
            let version = line.version == .http1_1 ? "HTTP/1.1" : "HTTP/1.0"
            parser.feed(Array("\(line.method) \(line.target) \(version)\r\n\(host)\r\n".utf8))
            guard case .requestHead(let head)? = try parser.next() else {
                Issue.record("no head for line \(index)")
                return
            }
            #expect(head.method == line.method)
            #expect(head.target == line.target)
            #expect(head.version == line.version)
            if line.hold { held.append((head, index)) }
            guard case .end? = try parser.next() else {
                Issue.record("no end for line \(index)")
                return
            }
        }
        for (head, index) in held {
            #expect(head.method == lines[index].method)
            #expect(head.target == lines[index].target)
            #expect(head.version == lines[index].version)
        }
    }

    /// Field lines arriving one byte at a time stay in the buffer while it is compacted
    /// between feeds, however far the head has come.
    @Test func fieldLinesFedByteByByteSurviveCompaction() throws {
        let pairs = (0..<40).map { ("X-Field-\($0)", String(repeating: "v", count: $0)) }
        let input = Array(Self.request([("Host", "h")] + pairs).utf8)
        var parser = HTTPParser(mode: .request)
        var head: HTTPRequestHead?
        for byte in input {
            parser.feed([byte])
            while let event = try parser.next() {
                if case .requestHead(let parsed) = event { head = parsed }
            }
        }
        #expect(head?.fields == Self.appended([("Host", "h")] + pairs))
        #expect(parser.isIdle)
    }

    @Test func anEmptyBufferAnswersNilAndAnEndAfterAPartialHeadStillFails() throws {
        var parser = HTTPParser(mode: .request)
        #expect(try parser.next() == nil)
        parser.feed(Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8))
        #expect(try parser.next() == nil)
        #expect(try parser.next() == nil)
        parser.feedEndOfStream()
        #expect(throws: HTTPParseError.unexpectedEnd) { try parser.next() }

        var idle = HTTPParser(mode: .request)
        idle.feedEndOfStream()
        #expect(try idle.next() == nil)
    }

    /// The methods registered for responses are answered in order, however the registrations
    /// and the responses interleave (their slots are reused once all were answered).
    @Test func answersPendingMethodsInOrderAcrossRefills() throws {
        var parser = HTTPParser(mode: .response)
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
        // Per round: the methods registered, then how many responses arrive.
        let rounds: [([String], Int)] = [
            (["HEAD", "GET", "HEAD"], 2), (["GET"], 2), (["HEAD", "HEAD"], 1), ([], 1),
        ]
        var pending: [String] = []
        for (methods, responses) in rounds {
            for method in methods { parser.expectResponse(toMethod: method) }
            pending += methods
            for _ in 0..<responses {
                let method = pending.removeFirst()
                parser.feed(Array((response + (method == "HEAD" ? "" : "ok")).utf8))
                guard case .responseHead? = try parser.next() else {
                    Issue.record("no head")
                    return
                }
                if method != "HEAD" {
                    guard case .body(let body)? = try parser.next() else {
                        Issue.record("no body for \(method)")
                        return
                    }
                    #expect(Array(body) == Array("ok".utf8))
                }
                guard case .end? = try parser.next() else {
                    Issue.record("no end")
                    return
                }
            }
        }
        #expect(pending.isEmpty)
        #expect(parser.isIdle)
    }

    @Test(arguments: [
        ("Content-Length: 3\r\n", "abc", true),
        ("Content-Length: 007\r\n", "abcdefg", true),
        ("Content-Length: 3\r\nContent-Length: 3\r\n", "abc", false),
        ("Content-Length: 3, 3\r\n", "abc", false),
    ])
    func readsOnePlainContentLengthAsItsLineArrives(
        _ fields: String, _ body: String, _ acceptedInRequests: Bool
    ) throws {
        let request = "POST / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n\(body)"
        if acceptedInRequests {
            #expect(bodyString(try parseEvents(request)) == body)
        } else {
            #expect(parseError(request) == .multipleContentLength)
        }
        let response = "HTTP/1.1 200 OK\r\n\(fields)\r\n\(body)"
        #expect(bodyString(try parseEvents(response, mode: .response)) == body)
    }
}
