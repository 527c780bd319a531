import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// The proxy's request-side decisions, driven event by event without sockets or threads.
@Suite(.timeLimit(.minutes(1)))
struct ProxyConnectionStateMachineTests {
    typealias Machine = ProxyConnection.StateMachine

    static func machine(maxReplay: Int = 8, maxDiscarded: Int = 16) -> Machine {
        var machine = Machine(
            settings: Machine.Settings(
                maxReplayBodyBytes: maxReplay, maxDiscardedBodyBytes: maxDiscarded))
        _ = machine.start()
        return machine
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func head(
        _ method: String = "GET", _ target: String = "/", version: HTTPVersion = .http1_1,
        _ fields: HTTPFields = [:]
    ) -> HTTPRequestHead {
        var all: HTTPFields = ["Host": "h"]
        for field in fields { all.append(field.name, field.value) }
        return HTTPRequestHead(method: method, target: target, version: version, fields: all)
    }

    static let forbidden = HTTPServerResponse(status: 403, body: bytes("no"))

    static func response(_ status: Int, _ fields: HTTPFields = [:]) -> HTTPResponseHead {
        HTTPResponseHead(status: status, fields: fields)
    }

    @Test(arguments: ProxyConnectionTests.ambiguousRequests)
    func rejectsAmbiguousRequestsBeforeAskingForARoute(_ request: String) {
        var machine = Self.machine()
        #expect(machine.readable(Self.bytes(request)).rejectedStatus == 400)
        #expect(machine.state == .closed)
    }

    @Test func rejectsContentLengthWithTransferEncoding() {
        var machine = Self.machine()
        let request =
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(
            machine.readable(Self.bytes(request)) == .reject(.contentLengthWithTransferEncoding))
    }

    @Test func rejectsUnknownTransferCodingsWith501() {
        var machine = Self.machine()
        let request = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"
        #expect(machine.readable(Self.bytes(request)) == .reject(.unsupportedTransferEncoding))
        #expect(HTTPParseError.unsupportedTransferEncoding.status == 501)
    }

    @Test func rejectsAnOversizedHeadWith431() {
        var machine = Machine(settings: Machine.Settings(limits: HTTPLimits(maxHeadBytes: 64)))
        let request = "GET / HTTP/1.1\r\nHost: h\r\nX-Long: \(String(repeating: "a", count: 80))"
        #expect(machine.readable(Self.bytes(request)) == .reject(.headTooLarge))
        #expect(HTTPParseError.headTooLarge.status == 431)
    }

    @Test func armsTheHeaderDeadlineAndKeepsItWhileTheHeadTrickles() {
        var machine = Machine(settings: Machine.Settings())
        #expect(machine.start() == .readMore(arm: .header))
        #expect(machine.readable(Self.bytes("GET / HT")) == .readMore(arm: .header))
        #expect(machine.readable(Self.bytes("TP/1.1\r\n")) == .readMore(arm: nil))
        #expect(machine.deadlineExpired() == .requestTimeout)
    }

    @Test func closesSilentlyWhenIdleOrWhenTheClientLeavesBetweenRequests() {
        var idle = Self.machine()
        #expect(idle.deadlineExpired() == .close)
        var leaving = Self.machine()
        #expect(leaving.endOfInput() == .close)
        var cut = Self.machine()
        _ = cut.readable(Self.bytes("GET / HT"))
        #expect(cut.endOfInput() == .reject(.unexpectedEnd))
    }

    @Test func answersLocallyAndReadsTheNextRequestUnderTheIdleDeadline() {
        var machine = Self.machine()
        #expect(
            machine.readable(Self.bytes("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"))
                == .decideRoute(Self.head("GET", "/a")))
        #expect(
            machine.routeDecided(.respond(Self.forbidden)) == .respond(Self.forbidden, close: false)
        )
        #expect(machine.responseSent(intact: true) == .readMore(arm: .idle))
    }

    @Test func holdsAPipelinedRequestUntilTheResponseWasSent() {
        var machine = Self.machine()
        let two = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(machine.readable(Self.bytes(two)) == .decideRoute(Self.head("GET", "/1")))
        #expect(machine.readable(Self.bytes("GET /3")) == .doNothing)
        #expect(machine.routeDecided(.forward(allowedUpgrades: [])) == .forward(.buffered([])))
        #expect(
            machine.responseHeadReceived(Self.response(204)) == .relay(.none, connection: .none))
        #expect(machine.responseSent(intact: true) == .decideRoute(Self.head("GET", "/2")))
    }

    @Test func doesNotReadARequestAfterConnectionClose() {
        var machine = Self.machine()
        let two = "GET /1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n"
        _ = machine.readable(Self.bytes(two))
        #expect(
            machine.routeDecided(.respond(Self.forbidden)) == .respond(Self.forbidden, close: true))
        #expect(machine.responseSent(intact: true) == .close)
    }

    @Test func sendsContinueThenForwardsTheBody() {
        var machine = Self.machine()
        let head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        _ = machine.readable(Self.bytes(head))
        #expect(machine.routeDecided(.forward(allowedUpgrades: [])) == .sendContinue)
        #expect(machine.continueSent() == .readMore(arm: .body))
        #expect(machine.readable(Self.bytes("hel")) == .readMore(arm: .body))
        #expect(machine.readable(Self.bytes("lo")) == .forward(.buffered(Self.bytes("hello"))))
    }

    @Test func closesInsteadOfWaitingForAnExpectedBodyItAnswersLocally() {
        var machine = Self.machine()
        let head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        _ = machine.readable(Self.bytes(head))
        #expect(
            machine.routeDecided(.respond(Self.forbidden)) == .respond(Self.forbidden, close: true))
    }

    @Test func dropsABodyItAnswersLocallyAndKeepsTheConnection() {
        var machine = Self.machine()
        _ = machine.readable(
            Self.bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab"))
        #expect(machine.routeDecided(.respond(Self.forbidden)) == .readMore(arm: .body))
        #expect(machine.readable(Self.bytes("cd")) == .respond(Self.forbidden, close: false))
        #expect(machine.responseSent(intact: true) == .readMore(arm: .idle))
    }

    @Test func closesAfterALocalAnswerWhenTheDroppedBodyIsTooLongOrStalls() {
        var long = Self.machine(maxDiscarded: 3)
        _ = long.readable(Self.bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n"))
        _ = long.routeDecided(.respond(Self.forbidden))
        #expect(long.readable(Self.bytes("abcd")) == .respond(Self.forbidden, close: true))
        var stalled = Self.machine()
        _ = stalled.readable(Self.bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n"))
        _ = stalled.routeDecided(.respond(Self.forbidden))
        #expect(stalled.deadlineExpired() == .respond(Self.forbidden, close: true))
    }

    @Test func streamsABodyDeclaredLongerThanTheReplayLimit() {
        var machine = Self.machine(maxReplay: 4)
        _ = machine.readable(
            Self.bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabc"))
        #expect(
            machine.routeDecided(.forward(allowedUpgrades: [])) == .forward(.streaming(prefix: [])))
        #expect(machine.bodyPartSent() == .sendBody(ArraySlice(Self.bytes("abc"))))
        #expect(machine.bodyPartSent() == .readMore(arm: .body))
        #expect(machine.readable(Self.bytes("def")) == .sendBody(ArraySlice(Self.bytes("def"))))
        #expect(machine.bodyPartSent() == .finishBody)
    }

    @Test func streamsAChunkedBodyOnceItPassesTheReplayLimit() {
        var machine = Self.machine(maxReplay: 4)
        let request =
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n"
        _ = machine.readable(Self.bytes(request))
        #expect(
            machine.routeDecided(.forward(allowedUpgrades: []))
                == .forward(.streaming(prefix: Self.bytes("abcdef"))))
        #expect(machine.bodyPartSent() == .readMore(arm: .body))
        #expect(machine.readable(Self.bytes("0\r\n\r\n")) == .finishBody)
    }

    @Test func rejectsABrokenChunkMidBody() {
        var machine = Self.machine()
        _ = machine.readable(
            Self.bytes("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"))
        #expect(machine.routeDecided(.forward(allowedUpgrades: [])) == .readMore(arm: .body))
        #expect(machine.readable(Self.bytes("zz\r\n")) == .reject(.invalidChunkSize))
    }

    @Test func decidesTheResponseFramingForTheClient() {
        typealias Framing = ProxyHeaders.ResponseFraming
        let chunked = Self.response(200, ["Transfer-Encoding": "chunked"])
        let cases: [(HTTPRequestHead, HTTPResponseHead, Framing)] = [
            (Self.head("HEAD"), Self.response(200, ["Content-Length": "5"]), .none),
            (Self.head(), Self.response(304), .none),
            (Self.head(), Self.response(200, ["Content-Length": "5"]), .length(5)),
            (Self.head(), chunked, .chunked),
            (Self.head(), Self.response(200), .chunked),
            (Self.head(version: .http1_0), chunked, .close),
        ]
        for (request, response, framing) in cases {
            #expect(Machine.responseFraming(of: response, to: request) == framing)
        }
    }

    @Test func keepsHTTP10AliveOnlyWhenAskedAndWhenTheBodyIsNotDelimitedByClosing() {
        var asking = Self.machine()
        _ = asking.readable(Self.bytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
        _ = asking.routeDecided(.forward(allowedUpgrades: []))
        #expect(
            asking.responseHeadReceived(Self.response(200, ["Content-Length": "1"]))
                == .relay(.length(1), connection: .keepAlive))
        var untilClose = Self.machine()
        _ = untilClose.readable(Self.bytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
        _ = untilClose.routeDecided(.forward(allowedUpgrades: []))
        #expect(
            untilClose.responseHeadReceived(Self.response(200))
                == .relay(.close, connection: .close))
        #expect(untilClose.responseSent(intact: true) == .close)
    }

    @Test func closesWhenTheUpstreamAnswersBeforeTheBodyWasRead() {
        var machine = Self.machine(maxReplay: 2)
        _ = machine.readable(Self.bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n"))
        _ = machine.routeDecided(.forward(allowedUpgrades: []))
        #expect(
            machine.responseHeadReceived(Self.response(413, ["Content-Length": "0"]))
                == .relay(.length(0), connection: .close))
    }

    @Test func closesAfterAFailedExchangeOnlyWhenBodyBytesAreLeft() {
        var empty = Self.machine()
        _ = empty.readable(Self.bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        _ = empty.routeDecided(.forward(allowedUpgrades: []))
        #expect(empty.exchangeFailed() == .answer(close: false))
        #expect(empty.responseSent(intact: true) == .readMore(arm: .idle))
        var streaming = Self.machine(maxReplay: 2)
        _ = streaming.readable(
            Self.bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n"))
        _ = streaming.routeDecided(.forward(allowedUpgrades: []))
        #expect(streaming.exchangeFailed() == .answer(close: true))
    }

    @Test func opensATunnelForCONNECTWithTheBytesThatFollowedIt() {
        var machine = Self.machine()
        let connect = "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\nearly"
        _ = machine.readable(Self.bytes(connect))
        #expect(machine.routeDecided(.tunnel) == .openTunnel(clientBytes: Self.bytes("early")))
        #expect(machine.state == .tunnelling)
        var notConnect = Self.machine()
        _ = notConnect.readable(Self.bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(notConnect.routeDecided(.tunnel) == .refuseTunnel)
    }

    @Test func switchesProtocolsOnlyForAnUpgradeRequest() {
        var upgrade = Self.machine()
        let request =
            "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nhi"
        _ = upgrade.readable(Self.bytes(request))
        _ = upgrade.routeDecided(.forward(allowedUpgrades: ["websocket"]))
        #expect(
            upgrade.responseHeadReceived(Self.response(101, ["Upgrade": "websocket"]))
                == .switchProtocols(clientBytes: Self.bytes("hi")))
        var plain = Self.machine()
        _ = plain.readable(Self.bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        _ = plain.routeDecided(.forward(allowedUpgrades: []))
        #expect(plain.responseHeadReceived(Self.response(101)) == .refuseSwitch)
    }

    @Test func shutdownClosesIdleConnectionsAndEndsTheExchangeInProgressWithClose() {
        var idle = Self.machine()
        #expect(idle.shutdownRequested() == .close)
        var busy = Self.machine()
        _ = busy.readable(Self.bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        _ = busy.routeDecided(.forward(allowedUpgrades: []))
        #expect(busy.shutdownRequested() == .doNothing)
        #expect(
            busy.responseHeadReceived(Self.response(200, ["Content-Length": "0"]))
                == .relay(.length(0), connection: .close))
        #expect(busy.responseSent(intact: true) == .close)
    }

    /// The request moves from state to state (`takeState`): each transition keeps the whole
    /// request, and an event out of order leaves the state as it was.
    @Test func carriesTheRequestThroughEveryTransitionAndIgnoresEventsOutOfOrder() {
        var machine = Self.machine()
        #expect(machine.routeDecided(.forward(allowedUpgrades: [])) == .reject(.invalidRequestLine))
        #expect(machine.state == .idle)
        #expect(machine.responseHeadReceived(Self.response(200)) == .refuseSwitch)
        #expect(machine.state == .idle)
        let head = Self.head("GET", "/a", version: .http1_0, ["Connection": "keep-alive"])
        #expect(
            machine.readable(
                Self.bytes("GET /a HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"))
                == .decideRoute(head))
        #expect(machine.responseHeadReceived(Self.response(200)) == .refuseSwitch)
        guard case .routing(let routed) = machine.state else {
            Issue.record("not routing: \(machine.state)")
            return
        }
        // The request keeps what the machine asks of the head (not the head itself).
        var parsed = Machine.Request(head: head)
        parsed.complete = true
        #expect(routed == parsed && routed.isHTTP10 && routed.complete && !routed.closeAfter)
        #expect(
            machine.routeDecided(.forward(allowedUpgrades: ["websocket"]))
                == .forward(.buffered([])))
        #expect(machine.routeDecided(.forward(allowedUpgrades: [])) == .reject(.invalidRequestLine))
        #expect(machine.state == .forwarding(routed))
        #expect(
            machine.responseHeadReceived(Self.response(200, ["Content-Length": "1"]))
                == .relay(.length(1), connection: .keepAlive))
        #expect(machine.state == .forwarding(routed))
        #expect(machine.responseSent(intact: true) == .readMore(arm: .idle))
        #expect(machine.state == .idle)
        #expect(machine.responseSent(intact: true) == .close)
        #expect(machine.state == .closed)
    }

    @Test func closesWhenAResponseWasCut() {
        var machine = Self.machine()
        _ = machine.readable(Self.bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        _ = machine.routeDecided(.forward(allowedUpgrades: []))
        _ = machine.responseHeadReceived(Self.response(200, ["Content-Length": "5"]))
        #expect(machine.responseSent(intact: false) == .close)
    }
}

extension ProxyConnection.StateMachine.ReadableAction {
    /// The status a rejection answers with; nil for any other action.
    fileprivate var rejectedStatus: Int? {
        if case .reject(let error) = self { return error.status }
        return nil
    }
}
