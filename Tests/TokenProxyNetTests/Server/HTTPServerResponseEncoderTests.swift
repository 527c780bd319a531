import Testing
import TokenProxyCore

@testable import TokenProxyNet

struct HTTPServerResponseEncoderTests {
    static let date = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)

    static func head(_ output: ServerConnection.StateMachine.Output) -> String {
        String(decoding: HTTPServerResponseEncoder.head(for: output, date: date), as: UTF8.self)
    }

    @Test func writesFramingFieldsItselfAndDropsTheHandlers() {
        let response = HTTPServerResponse(
            status: 200,
            headers: [
                "Content-Type": "application/json", "Content-Length": "99", "Connection": "x",
            ],
            body: Array("{}".utf8))
        let output = ServerConnection.StateMachine.Output(
            response: response, includeBody: true, keepAliveHeader: false)
        #expect(
            Self.head(output)
                == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                + "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n")
    }

    @Test func saysCloseOrKeepAliveWhenNeeded() {
        var output = ServerConnection.StateMachine.Output(
            response: HTTPServerResponse(status: 404, closeConnection: true), includeBody: true,
            keepAliveHeader: false)
        #expect(Self.head(output).contains("\r\nConnection: close\r\n"))
        output.response.closeConnection = false
        output.keepAliveHeader = true
        #expect(Self.head(output).contains("\r\nConnection: keep-alive\r\n"))
    }

    @Test func sendsNoContentLengthOrBodyFor204() {
        let output = ServerConnection.StateMachine.Output(
            response: HTTPServerResponse(status: 204, body: [1]), includeBody: true,
            keepAliveHeader: false)
        #expect(!Self.head(output).contains("Content-Length"))
        #expect(!HTTPServerResponseEncoder.sendsBody(output))
    }

    @Test func formatsIMFFixdate() {
        #expect(HTTPServerDate.imfFixdate(epochSeconds: 784_111_777) == Self.date)
        #expect(
            String(decoding: HTTPServerDate.imfFixdate(epochSeconds: 0), as: UTF8.self)
                == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
