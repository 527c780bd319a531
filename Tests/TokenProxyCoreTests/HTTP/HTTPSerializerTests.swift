import Testing
import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct HTTPSerializerTests {
    @Test func serializesRequestHead() {
        let head = HTTPRequestHead(
            method: "POST", target: "/oauth/v2/token",
            fields: ["Host": "idp.example.org", "Content-Length": "3"])
        let text = String(decoding: HTTPSerializer.requestHead(head), as: UTF8.self)
        #expect(
            text
                == "POST /oauth/v2/token HTTP/1.1\r\nHost: idp.example.org\r\nContent-Length: 3\r\n\r\n"
        )
    }

    @Test func serializesResponseHeadWithStandardReason() {
        let head = HTTPResponseHead(status: 404, fields: ["Content-Length": "0"])
        let text = String(decoding: HTTPSerializer.responseHead(head), as: UTF8.self)
        #expect(text == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        #expect(HTTPResponseHead(status: 299).reason == "")
    }

    @Test func framesChunks() {
        #expect(
            String(decoding: HTTPSerializer.chunk(Array("hello world, 17 b".utf8)), as: UTF8.self)
                == "11\r\nhello world, 17 b\r\n")
        #expect(HTTPSerializer.chunk([UInt8]()).isEmpty)
        #expect(String(decoding: HTTPSerializer.lastChunk(), as: UTF8.self) == "0\r\n\r\n")
        #expect(
            String(decoding: HTTPSerializer.lastChunk(trailers: ["T": "v"]), as: UTF8.self)
                == "0\r\nT: v\r\n\r\n")
    }

    @Test func roundTripsThroughParser() throws {
        let request = HTTPRequestHead(
            method: "PUT", target: "/x",
            fields: ["Host": "h", "Transfer-Encoding": "chunked", "A": "1", "a": "2"])
        var bytes = HTTPSerializer.requestHead(request)
        bytes += HTTPSerializer.chunk(Array("abc".utf8)) + HTTPSerializer.chunk(Array("de".utf8))
        bytes += HTTPSerializer.lastChunk(trailers: ["Digest": "x"])
        let events = try parseEvents(bytes)
        #expect(
            events == [
                .requestHead(request), .body(ArraySlice("abcde".utf8)),
                .end(trailers: ["Digest": "x"]),
            ])

        let response = HTTPResponseHead(status: 200, fields: ["Content-Length": "0"])
        let parsed = try parseEvents(HTTPSerializer.responseHead(response), mode: .response)
        #expect(parsed == [.responseHead(response), .end(trailers: [:])])
    }
}
