import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// `HTTPServerResponse`'s one shared box: copies share it until one changes, a change never
/// shows in another copy, and a change of what the pre-encoded head says drops that head.
@Suite(.timeLimit(.minutes(1)))
struct HTTPServerResponseStorageTests {
    static let cached = HTTPServerResponse(
        status: 200, headers: ["Content-Type": "application/json"], body: Array("{}".utf8)
    ).preEncoded()

    @Test func aCopySharesTheBoxUntilItChanges() {
        var copy = Self.cached
        #expect(copy.storage === Self.cached.storage)
        copy.body = Array("{\"a\":1}".utf8)
        #expect(copy.storage !== Self.cached.storage)
        #expect(Self.cached.body == Array("{}".utf8))
        #expect(Self.cached.encodedHead != nil)
    }

    @Test func changingStatusFieldsOrBodyDropsThePreEncodedHead() {
        var status = Self.cached
        status.status = 404
        #expect(status.encodedHead == nil)
        var fields = Self.cached
        fields.headers.append("Retry-After", "1")
        #expect(fields.encodedHead == nil)
        var body = Self.cached
        body.body.append(0x20)
        #expect(body.encodedHead == nil)
        // Re-encoding describes the new body.
        let head = String(decoding: body.preEncoded().encodedHead ?? [], as: UTF8.self)
        #expect(head.contains("Content-Length: 3\r\n"))
    }

    @Test func closeConnectionIsKeptApartFromTheHead() {
        var unchanged = Self.cached
        unchanged.closeConnection = false
        // Setting what is there copies nothing.
        #expect(unchanged.storage === Self.cached.storage)
        var closing = Self.cached
        closing.closeConnection = true
        #expect(closing.storage !== Self.cached.storage)
        #expect(closing.encodedHead == Self.cached.encodedHead)
        #expect(!Self.cached.closeConnection)
    }

    @Test func wirePartsAreTheEncodedHeadAndTheBodyUnlessHEADOrNoContent() {
        func parts(_ response: HTTPServerResponse, includeBody: Bool) -> (String, String) {
            response.withWireParts(includeBody: includeBody) { head, body in
                (String(decoding: head, as: UTF8.self), String(decoding: body, as: UTF8.self))
            }
        }
        let (head, body) = parts(Self.cached, includeBody: true)
        #expect(head == String(decoding: Self.cached.encodedHead ?? [], as: UTF8.self))
        #expect(body == "{}")
        #expect(parts(Self.cached, includeBody: false).1 == "")
        let plain = HTTPServerResponse(status: 204, headers: ["X-A": "b"], body: [0x41])
        let (plainHead, plainBody) = parts(plain, includeBody: true)
        #expect(
            plainHead
                == String(decoding: HTTPServerResponseEncoder.headPrefix(for: plain), as: UTF8.self)
        )
        #expect(plainBody == "")
    }

    @Test func lentHeadTailEqualsTheReturnedOne() {
        var date = HTTPServerDate()
        for (close, keepAlive) in [(false, false), (true, false), (false, true)] {
            let lent = date.withHeadTail(close: close, keepAlive: keepAlive) { Array($0) }
            let returned = date.headTail(close: close, keepAlive: keepAlive)
            // Equal but for the Date value ("Date: " + 29 bytes + CRLF), which may tick between.
            #expect(Array(lent.prefix(6)) == Array(returned.prefix(6)))
            #expect(Array(lent.dropFirst(37)) == Array(returned.dropFirst(37)))
            #expect(String(decoding: lent, as: UTF8.self).hasSuffix("\r\n\r\n"))
        }
    }
}
