import Testing
import TokenProxyCore

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct HTTPServerResponseEncoderTests {
    static let date = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)

    static func head(
        _ response: HTTPServerResponse, close: Bool = false, keepAlive: Bool = false
    ) -> String {
        String(
            decoding: HTTPServerResponseEncoder.head(
                for: response, close: close, keepAlive: keepAlive, date: date),
            as: UTF8.self)
    }

    @Test func writesFramingFieldsItselfAndDropsTheHandlers() {
        let response = HTTPServerResponse(
            status: 200,
            headers: [
                "Content-Type": "application/json", "Content-Length": "99", "Connection": "x",
                "transfer-encoding": "chunked", "DATE": "yesterday",
            ],
            body: Array("{}".utf8))
        #expect(
            Self.head(response)
                == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                + "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n")
    }

    @Test func saysCloseOrKeepAliveWhenNeeded() {
        let response = HTTPServerResponse(status: 404)
        #expect(Self.head(response, close: true).contains("\r\nConnection: close\r\n"))
        #expect(
            Self.head(response, close: true, keepAlive: true).contains("\r\nConnection: close\r\n"))
        #expect(Self.head(response, keepAlive: true).contains("\r\nConnection: keep-alive\r\n"))
        #expect(!Self.head(response).contains("Connection"))
    }

    @Test func sendsNoContentLengthOrBodyFor204() {
        let response = HTTPServerResponse(status: 204, body: [1])
        #expect(!Self.head(response).contains("Content-Length"))
        #expect(!HTTPServerResponseEncoder.sendsBody(response, answeringHEAD: false))
    }

    @Test func sendsNoBodyFor1xxAnd304() {
        for status in [100, 103, 199, 304] {
            let response = HTTPServerResponse(status: status, body: [1, 2])
            #expect(!Self.head(response).contains("Content-Length"))
            #expect(!HTTPServerResponseEncoder.sendsBody(response, answeringHEAD: false))
        }
        #expect(
            HTTPServerResponseEncoder.sendsBody(
                HTTPServerResponse(status: 200, body: [1]), answeringHEAD: false))
    }

    @Test func answersHEADWithTheLengthButNoBody() {
        let response = HTTPServerResponse(status: 200, body: [1, 2, 3])
        #expect(Self.head(response).contains("\r\nContent-Length: 3\r\n"))
        #expect(!HTTPServerResponseEncoder.sendsBody(response, answeringHEAD: true))
    }

    @Test func clampsStatusesThatAreNotThreeDigits() {
        for status in [0, 42, 1000, -1] {
            let response = HTTPServerResponse(status: status, body: [1])
            #expect(Self.head(response).hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
            // The head then promises a body, so the body must follow.
            #expect(HTTPServerResponseEncoder.sendsBody(response, answeringHEAD: false))
        }
        #expect(Self.head(HTTPServerResponse(status: 999)).hasPrefix("HTTP/1.1 999 \r\n"))
    }

    @Test func dropsFieldsThatCannotGoOnTheWire() {
        let response = HTTPServerResponse(
            status: 200, headers: ["X-Split": "a\r\nSet-Cookie: x", "Bad Name": "v", "X-Ok": "1"])
        #expect(
            Self.head(response)
                == "HTTP/1.1 200 OK\r\nX-Ok: 1\r\nContent-Length: 0\r\n"
                + "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n")
    }

    @Test func continueResponseIsTheBareInterimHead() {
        #expect(
            String(decoding: HTTPServerResponseEncoder.continueResponse, as: UTF8.self)
                == "HTTP/1.1 100 Continue\r\n\r\n")
    }

    @Test func formatsIMFFixdate() {
        #expect(HTTPServerDate.imfFixdate(epochSeconds: 784_111_777) == Self.date)
        #expect(
            String(decoding: HTTPServerDate.imfFixdate(epochSeconds: 0), as: UTF8.self)
                == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}

extension HTTPServerResponseEncoderTests {
    @Test func preEncodedHeadIsTheHeadUpToDate() {
        let response = HTTPServerResponse(
            status: 200, headers: ["Cache-Control": "no-store", "Content-Length": "9"],
            body: Array("{}".utf8))
        let encoded = response.preEncoded()
        #expect(
            encoded.encodedHead
                == Array("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 2\r\n".utf8)
        )
        #expect(Self.head(encoded) == Self.head(response))
        #expect(Self.head(encoded, close: true) == Self.head(response, close: true))
        #expect(!encoded.encodedAsksClose)
        #expect(
            HTTPServerResponse(status: 200, headers: ["Connection": "close"]).preEncoded()
                .encodedAsksClose)
    }

    @Test func doesNotPreEncodeAResponseWithAnInvalidField() {
        let response = HTTPServerResponse(status: 200, headers: ["X-Bad": "a\r\nInjected: 1"])
        #expect(response.preEncoded().encodedHead == nil)
    }

    @Test func headTailIsCachedPerSecondForTheCommonCase() {
        var date = HTTPServerDate()
        let tail = String(decoding: date.headTail(close: false, keepAlive: false), as: UTF8.self)
        #expect(tail.hasPrefix("Date: ") && tail.hasSuffix(" GMT\r\n\r\n"))
        let closing = String(decoding: date.headTail(close: true, keepAlive: false), as: UTF8.self)
        #expect(closing.hasSuffix(" GMT\r\nConnection: close\r\n\r\n"))
    }
}
