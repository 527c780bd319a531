import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// The connection's decisions, driven event by event without sockets or clocks.
@Suite(.timeLimit(.minutes(1)))
struct ServerConnectionStateMachineTests {
    typealias Machine = ServerConnection.StateMachine

    static func machine(maxBody: Int = 64, maxRequests: Int? = nil) -> Machine {
        var machine = Machine(
            settings: Machine.Settings(
                maxRequestBodyBytes: maxBody, maxRequestsPerConnection: maxRequests))
        _ = machine.start()
        return machine
    }

    static func bytes(_ text: String) -> ArraySlice<UInt8> { ArraySlice(text.utf8) }

    static func get(_ target: String = "/", version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        HTTPRequestHead(method: "GET", target: target, version: version, fields: ["Host": "x"])
    }

    /// The response the state machine writes for `status` and `reason`, closing.
    static func error(_ status: Int, _ reason: String, includeBody: Bool = true) -> Machine.Output {
        Machine.Output(
            response: Machine.plainText(status, reason), includeBody: includeBody,
            keepAliveHeader: false)
    }

    static func output(
        _ response: HTTPServerResponse, close: Bool = false, includeBody: Bool = true,
        keepAliveHeader: Bool = false
    ) -> Machine.Output {
        var response = response
        response.closeConnection = close
        return Machine.Output(
            response: response, includeBody: includeBody, keepAliveHeader: keepAliveHeader)
    }

    static let ok = HTTPServerResponse(status: 200)

    @Test func armsTheHeaderDeadlineOnAcceptAndKeepsItWhileTheHeadTrickles() {
        var machine = Machine(settings: Machine.Settings())
        #expect(machine.start() == .readMore(arm: .header))
        #expect(machine.readable(Self.bytes("GET / HT")) == .readMore(arm: nil))
        #expect(machine.state == .readingHead(closeAfterResponse: false))
    }

    @Test func dispatchesACompleteRequestAndWaitsForItsResponse() {
        var machine = Self.machine()
        let head = HTTPRequestHead(
            method: "POST", target: "/t", version: .http1_1,
            fields: ["Host": "x", "Content-Length": "2"])
        let request = "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
        #expect(machine.readable(Self.bytes(request)) == .dispatch(head, body: Array("hi".utf8)))
        #expect(machine.state == .handling(closeAfterResponse: false))
        #expect(machine.responseReady(Self.ok) == .write(Self.output(Self.ok)))
        #expect(machine.writeCompleted() == .readMore(arm: .idle))
        #expect(machine.state == .idle)
    }

    /// The connection reads into its loop's one buffer and reuses it for the next read (and the
    /// next connection): the machine must have copied what it keeps, also across going idle
    /// (where it swaps in a fresh parser) and a head split over reads.
    @Test func keepsItsOwnCopyOfBytesReadIntoASharedBuffer() {
        var machine = Self.machine()
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { scratch.deallocate() }
        func read(_ text: String) -> Machine.ReadableAction {
            let count = text.utf8.count
            scratch.copyBytes(from: text.utf8)
            let action = machine.readable(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            scratch.initializeMemory(as: UInt8.self, repeating: 0x58)  // the next reader's bytes
            return action
        }
        #expect(read("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n") == .dispatch(Self.get("/1"), body: []))
        _ = machine.responseReady(Self.ok)
        #expect(machine.writeCompleted() == .readMore(arm: .idle))
        #expect(machine.state == .idle)
        #expect(read("GET /2 HT") == .readMore(arm: .header))
        #expect(read("TP/1.1\r\nHo") == .readMore(arm: nil))
        #expect(read("st: x\r\n\r\nGET /3 HTTP/1.1\r\n") == .dispatch(Self.get("/2"), body: []))
        _ = machine.responseReady(Self.ok)
        #expect(machine.writeCompleted() == .readMore(arm: .header))
        #expect(read("Host: x\r\n\r\n") == .dispatch(Self.get("/3"), body: []))
    }

    @Test func holdsPipelinedRequestsUntilTheResponseIsWritten() {
        var machine = Self.machine()
        let two = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3"
        #expect(machine.readable(Self.bytes(two)) == .dispatch(Self.get("/1"), body: []))
        #expect(machine.responseReady(Self.ok) == .write(Self.output(Self.ok)))
        #expect(machine.writeCompleted() == .dispatch(Self.get("/2"), body: []))
        _ = machine.responseReady(Self.ok)
        // A partial third head runs under the header deadline.
        #expect(machine.writeCompleted() == .readMore(arm: .header))
    }

    @Test func ignoresBytesArrivingWhileARequestIsHandled() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(machine.readable(Self.bytes("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")) == .doNothing)
        _ = machine.responseReady(Self.ok)
        #expect(machine.writeCompleted() == .dispatch(Self.get("/2"), body: []))
    }

    @Test func closesAfterTheResponseWhenTheClientAsks() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        #expect(machine.responseReady(Self.ok) == .write(Self.output(Self.ok, close: true)))
        #expect(machine.writeCompleted() == .close)
    }

    @Test func keepsHTTP10AliveOnlyWhenAskedAndSaysSo() {
        var plain = Self.machine()
        _ = plain.readable(Self.bytes("GET / HTTP/1.0\r\n\r\n"))
        #expect(plain.responseReady(Self.ok) == .write(Self.output(Self.ok, close: true)))
        var asking = Self.machine()
        _ = asking.readable(Self.bytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
        #expect(
            asking.responseReady(Self.ok) == .write(Self.output(Self.ok, keepAliveHeader: true)))
    }

    @Test func omitsTheBodyForHEAD() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"))
        let response = HTTPServerResponse(status: 200, body: [1])
        #expect(
            machine.responseReady(response) == .write(Self.output(response, includeBody: false)))
    }

    @Test func answersParseErrorsWithTheirStatusAndCloses() {
        var machine = Self.machine()
        #expect(
            machine.readable(Self.bytes("GET / HTTP/1.1\r\n\r\n"))
                == .write(Self.error(400, "missing Host header")))
        #expect(machine.writeCompleted() == .close)
    }

    @Test func refusesADeclaredBodyOverTheLimit() {
        var machine = Self.machine(maxBody: 4)
        let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
        #expect(
            machine.readable(Self.bytes(head)) == .write(Self.error(413, "request body too large")))
    }

    @Test func refusesAChunkedBodyOnceItPassesTheLimit() {
        var machine = Self.machine(maxBody: 4)
        let request =
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n"
        #expect(
            machine.readable(Self.bytes(request))
                == .write(Self.error(413, "request body too large")))
    }

    @Test func sendsContinueOnlyBeforeAnyBodyByte() {
        var waiting = Self.machine()
        let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        #expect(waiting.readable(Self.bytes(head)) == .sendContinue(arm: .body))
        let expected = HTTPRequestHead(
            method: "POST", target: "/", version: .http1_1,
            fields: ["Host": "x", "Content-Length": "2", "Expect": "100-continue"])
        #expect(waiting.readable(Self.bytes("ok")) == .dispatch(expected, body: Array("ok".utf8)))
        // A client already sending the body gets no 100 Continue.
        var eager = Self.machine()
        #expect(eager.readable(Self.bytes(head + "o")) == .readMore(arm: .body))
    }

    @Test func answers417ToAnExpectedBodyOverTheLimit() {
        var machine = Self.machine(maxBody: 1)
        let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        #expect(
            machine.readable(Self.bytes(head)) == .write(Self.error(417, "request body too large")))
    }

    @Test func answers408WhenTheHeadDeadlinePassesAndClosesSilentlyWhenIdle() {
        var reading = Self.machine()
        _ = reading.readable(Self.bytes("GET / HTTP/1.1\r\n"))
        #expect(reading.deadlineExpired() == .write(Self.error(408, "request timeout")))

        var idle = Self.machine()
        _ = idle.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        _ = idle.responseReady(HTTPServerResponse(status: 204))
        _ = idle.writeCompleted()
        #expect(idle.deadlineExpired() == .close)
    }

    @Test func restartsTheHeaderDeadlineWhenTheNextRequestBegins() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        _ = machine.responseReady(Self.ok)
        _ = machine.writeCompleted()
        #expect(machine.readable(Self.bytes("GET")) == .readMore(arm: .header))
    }

    @Test func ignoresDeadlinesWhileHandling() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        // A slow handler is not the client's fault.
        #expect(machine.deadlineExpired() == .doNothing)
    }

    @Test func closesAfterMaxRequestsPerConnection() {
        var machine = Self.machine(maxRequests: 1)
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(machine.responseReady(Self.ok) == .write(Self.output(Self.ok, close: true)))
    }

    @Test func replacesAResponseWithAnInvalidHeaderBy500() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        let bad = HTTPServerResponse(status: 200, headers: ["X-Split": "a\r\nSet-Cookie: x"])
        let replaced = Machine.plainText(500, "invalid response header")
        #expect(machine.responseReady(bad) == .write(Self.output(replaced, close: true)))
    }

    @Test func shutdownClosesIdleConnectionsAndMarksBusyOnesToClose() {
        var idle = Self.machine()
        #expect(idle.shutdownRequested() == .close)
        var busy = Self.machine()
        _ = busy.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        // A request in flight finishes.
        #expect(busy.shutdownRequested() == .doNothing)
        #expect(busy.responseReady(Self.ok) == .write(Self.output(Self.ok, close: true)))
        #expect(busy.writeCompleted() == .close)
    }

    @Test func shutdownWhileWritingClosesAfterTheWrite() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        _ = machine.responseReady(Self.ok)
        #expect(machine.shutdownRequested() == .doNothing)
        #expect(machine.writeCompleted() == .close)
    }

    @Test func closesOnEndOfInputAndIgnoresLateResponses() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HT"))
        #expect(machine.endOfInput() == .close)
        #expect(machine.responseReady(Self.ok) == .doNothing)
    }

    @Test func answersRequestsBufferedBeforeAHalfCloseThenCloses() {
        var machine = Self.machine()
        let two = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
        _ = machine.readable(Self.bytes(two))
        _ = machine.responseReady(Self.ok)
        #expect(machine.endOfInput() == .doNothing)
        #expect(machine.writeCompleted() == .dispatch(Self.get("/2"), body: []))
        #expect(machine.responseReady(Self.ok) == .write(Self.output(Self.ok, close: true)))
        #expect(machine.writeCompleted() == .close)
    }
}
