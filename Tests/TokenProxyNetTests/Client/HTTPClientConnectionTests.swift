import Testing
import TokenProxyCore

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct HTTPClientConnectionTests {
    static let okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"

    @Test func sendsHeadAndBodyInOneWrite() throws {
        let stream = HTTPTestStream(responses: [Self.okResponse])
        let connection = HTTPClientConnection(stream: stream, peer: "idp:443")
        let head = HTTPRequestHead(
            method: "POST", target: "/token", fields: ["Host": "idp", "Content-Length": "3"])
        try connection.sendRequest(head, body: Array("a=b".utf8), deadline: farFuture)
        #expect(
            stream.written == "POST /token HTTP/1.1\r\nHost: idp\r\nContent-Length: 3\r\n\r\na=b")
        #expect(stream.writeCount == 1)
        #expect(connection.requestWritten)
    }

    @Test func readsResponseSplitAcrossReads() throws {
        let stream = HTTPTestStream(responses: [Self.okResponse], readChunk: 3)
        let connection = HTTPClientConnection(stream: stream, peer: "idp:443")
        try connection.sendRequest(
            HTTPRequestHead(method: "GET", target: "/", fields: ["Host": "idp"]), body: [],
            deadline: farFuture)
        let head = try connection.readResponseHead(deadline: farFuture)
        #expect(head.status == 200)
        let body = try connection.readResponseBody(head: head, limit: 100, deadline: farFuture)
        #expect(String(decoding: body, as: UTF8.self) == "hello world")
        #expect(connection.isReusable)
    }

    @Test func readsChunkedResponseWithTrailersThroughPullReader() throws {
        let response =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n2\r\nef\r\n0\r\nX-T: 1\r\n\r\n"
        let stream = HTTPTestStream(responses: [response], readChunk: 5)
        let connection = HTTPClientConnection(stream: stream, peer: "p:1")
        try connection.sendRequest(
            HTTPRequestHead(method: "GET", target: "/", fields: ["Host": "p"]), body: [],
            deadline: farFuture)
        _ = try connection.readResponseHead(deadline: farFuture)
        var body: [UInt8] = []
        while let part = try connection.readResponseBodyPart(deadline: farFuture) {
            #expect(part.count <= 5)
            body += part
        }
        #expect(String(decoding: body, as: UTF8.self) == "abcdef")
        #expect(connection.trailers["x-t"] == "1")
        #expect(try connection.readResponseBodyPart(deadline: farFuture) == nil)
        #expect(connection.isReusable)
    }

    @Test func skipsInterimResponses() throws {
        let stream = HTTPTestStream(responses: ["HTTP/1.1 100 Continue\r\n\r\n" + Self.okResponse])
        let connection = HTTPClientConnection(stream: stream, peer: "p:1")
        try connection.sendRequest(
            HTTPRequestHead(method: "GET", target: "/", fields: ["Host": "p"]), body: [],
            deadline: farFuture)
        #expect(try connection.readResponseHead(deadline: farFuture).status == 200)
    }

    @Test func streamsChunkedRequestBody() throws {
        let stream = HTTPTestStream()
        let connection = HTTPClientConnection(stream: stream, peer: "p:1")
        let head = HTTPRequestHead(
            method: "PUT", target: "/u", fields: ["Host": "p", "Transfer-Encoding": "chunked"])
        try connection.writeRequestHead(head, deadline: farFuture)
        #expect(!connection.requestWritten)
        try connection.writeRequestBody(Array("hello".utf8), deadline: farFuture)
        try connection.writeRequestBody([], deadline: farFuture)
        try connection.writeRequestBody(
            Array(String(repeating: "x", count: 20).utf8), deadline: farFuture)
        try connection.finishRequestBody(trailers: ["T": "v"], deadline: farFuture)
        #expect(connection.requestWritten)
        #expect(
            stream.written
                == "PUT /u HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n14\r\n"
                + String(repeating: "x", count: 20) + "\r\n0\r\nT: v\r\n\r\n")
    }

    @Test func streamsContentLengthBodyAndChecksItsLength() throws {
        let connection = HTTPClientConnection(stream: HTTPTestStream(), peer: "p:1")
        let head = HTTPRequestHead(
            method: "POST", target: "/", fields: ["Host": "p", "Content-Length": "4"])
        try connection.writeRequestHead(head, deadline: farFuture)
        try connection.writeRequestBody(Array("ab".utf8), deadline: farFuture)
        #expect(throws: HTTPClientError.self) {
            try connection.writeRequestBody(Array("cde".utf8), deadline: farFuture)
        }
        #expect(throws: HTTPClientError.self) {
            try connection.finishRequestBody(deadline: farFuture)
        }
    }

    @Test func rejectsBodyNotMatchingDeclaredLength() {
        let connection = HTTPClientConnection(stream: HTTPTestStream(), peer: "p:1")
        let head = HTTPRequestHead(
            method: "POST", target: "/", fields: ["Host": "p", "Content-Length": "4"])
        #expect(throws: HTTPClientError.self) {
            try connection.sendRequest(head, body: Array("abc".utf8), deadline: farFuture)
        }
    }

    @Test func refusesTooLargeBodies() throws {
        for response in [
            "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\n\r\nhello world",
        ] {
            let stream = HTTPTestStream(responses: [response], closeAfterResponses: true)
            let connection = HTTPClientConnection(stream: stream, peer: "idp:443")
            try connection.sendRequest(
                HTTPRequestHead(method: "GET", target: "/", fields: ["Host": "idp"]), body: [],
                deadline: farFuture)
            let head = try connection.readResponseHead(deadline: farFuture)
            #expect {
                try connection.readResponseBody(head: head, limit: 10, deadline: farFuture)
            } throws: { error in
                guard case HTTPClientError.responseTooLarge(let peer, let limit) = error else {
                    return false
                }
                return peer == "idp:443" && limit == 10
            }
            #expect(!connection.isReusable)
        }
    }

    @Test func reportsCloseBeforeAnyResponseByteAsClosedConnection() throws {
        let stream = HTTPTestStream(peerClosed: true)
        let connection = HTTPClientConnection(stream: stream, peer: "idp:443")
        try connection.sendRequest(
            HTTPRequestHead(method: "GET", target: "/", fields: ["Host": "idp"]), body: [],
            deadline: farFuture)
        #expect {
            try connection.readResponseHead(deadline: farFuture)
        } throws: { error in
            guard let error = error as? HTTPClientError else { return false }
            return HTTPClient.isClosedConnection(error) && !connection.receivedResponseBytes
        }
    }

    @Test func reportsMalformedResponseWithoutItsBytes() throws {
        let stream = HTTPTestStream(responses: ["HTTP/1.1 200 OK\r\nSecret-Token abc\r\n\r\n"])
        let connection = HTTPClientConnection(stream: stream, peer: "idp:443")
        try connection.sendRequest(
            HTTPRequestHead(method: "GET", target: "/", fields: ["Host": "idp"]), body: [],
            deadline: farFuture)
        #expect {
            try connection.readResponseHead(deadline: farFuture)
        } throws: { error in
            let text = "\(error)"
            return text.contains("idp:443") && !text.contains("abc") && !text.contains("Secret")
        }
    }

    @Test func truncatedBodyIsMalformedNotRetryable() throws {
        let stream = HTTPTestStream(
            responses: ["HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort"],
            closeAfterResponses: true)
        let connection = HTTPClientConnection(stream: stream, peer: "idp:443")
        try connection.sendRequest(
            HTTPRequestHead(method: "GET", target: "/", fields: ["Host": "idp"]), body: [],
            deadline: farFuture)
        let head = try connection.readResponseHead(deadline: farFuture)
        #expect {
            try connection.readResponseBody(head: head, limit: 100, deadline: farFuture)
        } throws: { error in
            guard case HTTPClientError.malformedResponse = error else { return false }
            return true
        }
    }

    @Test(
        arguments: [
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", [:], true),
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", [:], false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ["Connection": "close"], false),
            ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", [:], false),
            ("HTTP/1.1 200 OK\r\n\r\n", [:], false),
        ] as [(String, HTTPFields, Bool)])
    func decidesReuse(response: String, extraFields: HTTPFields, reusable: Bool) throws {
        let stream = HTTPTestStream(responses: [response], closeAfterResponses: true)
        let connection = HTTPClientConnection(stream: stream, peer: "p:1")
        var fields: HTTPFields = ["Host": "p"]
        for field in extraFields { fields.append(field.name, field.value) }
        try connection.sendRequest(
            HTTPRequestHead(method: "GET", target: "/", fields: fields), body: [],
            deadline: farFuture)
        let head = try connection.readResponseHead(deadline: farFuture)
        _ = try connection.readResponseBody(head: head, limit: 100, deadline: farFuture)
        #expect(connection.isReusable == reusable)
    }

    @Test func detectsStaleIdleConnection() {
        let stream = HTTPTestStream()
        let connection = HTTPClientConnection(stream: stream, peer: "p:1")
        #expect(!connection.isStale())
        stream.closeFromPeer()
        #expect(connection.isStale())
    }

    @Test func opensTunnelAfterConnect() throws {
        let stream = HTTPTestStream(responses: ["HTTP/1.1 200 Connection established\r\n\r\n"])
        let connection = HTTPClientConnection(stream: stream, peer: "proxy:3128")
        let head = HTTPRequestHead(
            method: "CONNECT", target: "idp:443", fields: ["Host": "idp:443"])
        try connection.sendRequest(head, body: [], deadline: farFuture)
        #expect(try connection.readResponseHead(deadline: farFuture).status == 200)
        try connection.finishTunnelSetup()
        #expect(!connection.isReusable)
        #expect(!stream.isClosed)
    }
}
