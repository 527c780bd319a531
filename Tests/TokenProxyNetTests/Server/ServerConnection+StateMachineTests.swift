import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// The connection's decisions, driven event by event without sockets or clocks.
struct ServerConnectionStateMachineTests {
    typealias Machine = ServerConnection.StateMachine

    static func machine(
        maxBody: Int = 64, maxRequests: Int? = nil
    ) -> Machine {
        var machine = Machine(
            settings: Machine.Settings(
                maxRequestBodyBytes: maxBody, maxRequestsPerConnection: maxRequests))
        _ = machine.start()
        return machine
    }

    static func bytes(_ text: String) -> ArraySlice<UInt8> { ArraySlice(text.utf8) }

    @Test func armsTheHeaderDeadlineOnAcceptAndKeepsItWhileTheHeadTrickles() {
        var machine = Machine(settings: Machine.Settings())
        guard case .readMore(arm: .header) = machine.start() else {
            Issue.record("expected the header deadline")
            return
        }
        guard case .readMore(arm: nil) = machine.readable(Self.bytes("GET / HT")) else {
            Issue.record("the running header deadline must not restart")
            return
        }
        #expect(machine.state == .readingHead)
    }

    @Test func dispatchesACompleteRequestAndWaitsForItsResponse() {
        var machine = Self.machine()
        guard
            case .dispatch(let head, let body) = machine.readable(
                Self.bytes("POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"))
        else {
            Issue.record("expected dispatch")
            return
        }
        #expect(head.target == "/t")
        #expect(body == Array("hi".utf8))
        #expect(machine.state == .handling)
        guard case .write(let output) = machine.responseReady(HTTPServerResponse(status: 200))
        else {
            Issue.record("expected write")
            return
        }
        #expect(!output.response.closeConnection)
        guard case .readMore(arm: .idle) = machine.writeCompleted() else {
            Issue.record("expected the idle deadline after a response")
            return
        }
        #expect(machine.state == .idle)
    }

    @Test func holdsPipelinedRequestsUntilTheResponseIsWritten() {
        var machine = Self.machine()
        let two = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3"
        guard case .dispatch(let first, _) = machine.readable(Self.bytes(two)) else {
            Issue.record("expected the first request")
            return
        }
        #expect(first.target == "/1")
        guard case .write = machine.responseReady(HTTPServerResponse(status: 200)) else {
            Issue.record("expected write")
            return
        }
        guard case .dispatch(let second, _) = machine.writeCompleted() else {
            Issue.record("expected the buffered second request")
            return
        }
        #expect(second.target == "/2")
        _ = machine.responseReady(HTTPServerResponse(status: 200))
        guard case .readMore(arm: .header) = machine.writeCompleted() else {
            Issue.record("a partial third head runs under the header deadline")
            return
        }
    }

    @Test func ignoresBytesArrivingWhileARequestIsHandled() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"))
        guard case .doNothing = machine.readable(Self.bytes("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"))
        else {
            Issue.record("nothing is parsed while a request is in flight")
            return
        }
        _ = machine.responseReady(HTTPServerResponse(status: 200))
        guard case .dispatch(let head, _) = machine.writeCompleted() else {
            Issue.record("expected the held request")
            return
        }
        #expect(head.target == "/2")
    }

    @Test func closesAfterTheResponseWhenTheClientAsks() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        guard case .write(let output) = machine.responseReady(HTTPServerResponse(status: 200))
        else {
            Issue.record("expected write")
            return
        }
        #expect(output.response.closeConnection)
        guard case .close = machine.writeCompleted() else {
            Issue.record("expected close")
            return
        }
    }

    @Test func keepsHTTP10AliveOnlyWhenAskedAndSaysSo() {
        var plain = Self.machine()
        _ = plain.readable(Self.bytes("GET / HTTP/1.0\r\n\r\n"))
        guard case .write(let closing) = plain.responseReady(HTTPServerResponse(status: 200)) else {
            Issue.record("expected write")
            return
        }
        #expect(closing.response.closeConnection)
        var asking = Self.machine()
        _ = asking.readable(Self.bytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
        guard case .write(let kept) = asking.responseReady(HTTPServerResponse(status: 200)) else {
            Issue.record("expected write")
            return
        }
        #expect(!kept.response.closeConnection)
        #expect(kept.keepAliveHeader)
    }

    @Test func omitsTheBodyForHEAD() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"))
        guard
            case .write(let output) = machine.responseReady(
                HTTPServerResponse(status: 200, body: [1]))
        else {
            Issue.record("expected write")
            return
        }
        #expect(!output.includeBody)
    }

    @Test func answersParseErrorsWithTheirStatusAndCloses() {
        var machine = Self.machine()
        guard case .write(let output) = machine.readable(Self.bytes("GET / HTTP/1.1\r\n\r\n"))
        else {
            Issue.record("expected an error response")
            return
        }
        #expect(output.response.status == 400)
        #expect(output.response.closeConnection)
        #expect(String(decoding: output.response.body, as: UTF8.self) == "missing Host header\n")
        guard case .close = machine.writeCompleted() else {
            Issue.record("expected close")
            return
        }
    }

    @Test func refusesADeclaredBodyOverTheLimit() {
        var machine = Self.machine(maxBody: 4)
        guard
            case .write(let output) = machine.readable(
                Self.bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"))
        else {
            Issue.record("expected 413")
            return
        }
        #expect(output.response.status == 413)
    }

    @Test func refusesAChunkedBodyOnceItPassesTheLimit() {
        var machine = Self.machine(maxBody: 4)
        guard
            case .write(let output) = machine.readable(
                Self.bytes(
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n"
                ))
        else {
            Issue.record("expected 413")
            return
        }
        #expect(output.response.status == 413)
    }

    @Test func sendsContinueOnlyBeforeAnyBodyByte() {
        var waiting = Self.machine()
        let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        guard case .sendContinue(arm: .body) = waiting.readable(Self.bytes(head)) else {
            Issue.record("expected 100 Continue")
            return
        }
        guard case .dispatch = waiting.readable(Self.bytes("ok")) else {
            Issue.record("expected dispatch")
            return
        }
        var eager = Self.machine()
        guard case .readMore(arm: .body) = eager.readable(Self.bytes(head + "o")) else {
            Issue.record("a client already sending the body gets no 100 Continue")
            return
        }
    }

    @Test func answers417ToAnExpectedBodyOverTheLimit() {
        var machine = Self.machine(maxBody: 1)
        guard
            case .write(let output) = machine.readable(
                Self.bytes(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
                ))
        else {
            Issue.record("expected 417")
            return
        }
        #expect(output.response.status == 417)
    }

    @Test func answers408WhenTheHeadDeadlinePassesAndClosesSilentlyWhenIdle() {
        var reading = Self.machine()
        _ = reading.readable(Self.bytes("GET / HTTP/1.1\r\n"))
        guard case .write(let output) = reading.deadlineExpired() else {
            Issue.record("expected 408")
            return
        }
        #expect(output.response.status == 408)

        var idle = Self.machine()
        _ = idle.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        _ = idle.responseReady(HTTPServerResponse(status: 204))
        _ = idle.writeCompleted()
        guard case .close = idle.deadlineExpired() else {
            Issue.record("an idle keep-alive connection just closes")
            return
        }
    }

    @Test func restartsTheHeaderDeadlineWhenTheNextRequestBegins() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        _ = machine.responseReady(HTTPServerResponse(status: 200))
        _ = machine.writeCompleted()
        guard case .readMore(arm: .header) = machine.readable(Self.bytes("GET")) else {
            Issue.record("the first byte of a request starts the header deadline")
            return
        }
    }

    @Test func ignoresDeadlinesWhileHandling() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        guard case .doNothing = machine.deadlineExpired() else {
            Issue.record("a slow handler is not the client's fault")
            return
        }
    }

    @Test func closesAfterMaxRequestsPerConnection() {
        var machine = Self.machine(maxRequests: 1)
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        guard case .write(let output) = machine.responseReady(HTTPServerResponse(status: 200))
        else {
            Issue.record("expected write")
            return
        }
        #expect(output.response.closeConnection)
    }

    @Test func replacesAResponseWithAnInvalidHeaderBy500() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        let bad = HTTPServerResponse(status: 200, headers: ["X-Split": "a\r\nSet-Cookie: x"])
        guard case .write(let output) = machine.responseReady(bad) else {
            Issue.record("expected write")
            return
        }
        #expect(output.response.status == 500)
    }

    @Test func shutdownClosesIdleConnectionsAndMarksBusyOnesToClose() {
        var idle = Self.machine()
        guard case .close = idle.shutdownRequested() else {
            Issue.record("idle connections close at once")
            return
        }
        var busy = Self.machine()
        _ = busy.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        guard case .doNothing = busy.shutdownRequested() else {
            Issue.record("a request in flight finishes")
            return
        }
        guard case .write(let output) = busy.responseReady(HTTPServerResponse(status: 200)) else {
            Issue.record("expected write")
            return
        }
        #expect(output.response.closeConnection)
    }

    @Test func closesOnEndOfInputAndIgnoresLateResponses() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HT"))
        guard case .close = machine.endOfInput() else {
            Issue.record("expected close")
            return
        }
        guard case .doNothing = machine.responseReady(HTTPServerResponse(status: 200)) else {
            Issue.record("expected a late response to be ignored")
            return
        }
    }
}
