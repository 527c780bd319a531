import Testing

@testable import TokenProxyCore

/// The framing fields the parser notes while a head arrives (``FramingFields``), and the rules
/// the complete head is checked against with them: names in any case, counted per line.
@Suite(.timeLimit(.minutes(1)))
struct FramingFieldsTests {
    private static func field(_ name: String, _ value: String) -> HTTPFields.Field {
        HTTPFields.Field(name: name, value: value)
    }

    @Test func notesFramingNamesInAnyCase() {
        var framing = FramingFields()
        framing.note(Self.field("hOsT", "example"))
        framing.note(Self.field("CONTENT-LENGTH", "3"))
        framing.note(Self.field("transfer-encoding", "chunked"))
        #expect(framing.hostCount == 1)
        #expect(!framing.hostIsMalformed)
        #expect(framing.hasContentLength)
        #expect(framing.hasTransferEncoding)
    }

    @Test func ignoresOtherFieldsOfTheSameLength() {
        var framing = FramingFields()
        framing.note(Self.field("Hose", "x"))  // 4 bytes, like Host
        framing.note(Self.field("Content-Lengtx", "3"))  // 14 bytes, like Content-Length
        framing.note(Self.field("Transfer-Encodinx", "chunked"))  // 17 bytes
        #expect(framing.hostCount == 0)
        #expect(!framing.hasContentLength)
        #expect(!framing.hasTransferEncoding)
    }

    @Test func judgesOnlyTheFirstHostValue() {
        var framing = FramingFields()
        framing.note(Self.field("Host", "a"))
        framing.note(Self.field("Host", "b, c"))
        #expect(framing.hostCount == 2)
        #expect(!framing.hostIsMalformed)
    }

    @Test(arguments: ["a b", "a\tb", "a,b", "a/b", "a?b", "a#b", "u@a", "a\\b"])
    func refusesHostValuesThatAreNoSingleAuthority(_ host: String) {
        #expect(!FramingFields.isSingleAuthority(host))
        #expect(parseError("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n") == .invalidHost)
    }

    @Test func appliesTheRulesToFieldNamesInAnyCase() throws {
        #expect(parseError("GET / HTTP/1.1\r\nHOST: a\r\nhost: b\r\n\r\n") == .invalidHost)
        #expect(
            parseError(
                "POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\nTRANSFER-ENCODING: chunked\r\n\r\n"
            )
                == .contentLengthWithTransferEncoding)
        #expect(
            parseError("POST / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n")
                == .invalidTransferEncoding)
        let events = try parseEvents("POST / HTTP/1.1\r\nhOST: a\r\ncontent-LENGTH: 2\r\n\r\nhi")
        #expect(events.count == 3)
        #expect(events.last == .end(trailers: [:]))
    }

    @Test func aResponseHeadIsFramedByItsOwnFields() throws {
        // The notes are per head: an interim response's fields do not reach the final one.
        let events = try parseEvents(
            "HTTP/1.1 100 Continue\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            mode: .response, methods: ["GET"])
        #expect(events.count == 4)
        #expect(events.last == .end(trailers: [:]))
    }
}
