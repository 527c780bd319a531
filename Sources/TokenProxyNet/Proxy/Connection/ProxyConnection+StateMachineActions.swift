import TokenProxyCore

extension ProxyConnection {
    /// The request body as it goes upstream.
    enum OutgoingBody: Sendable, Equatable {
        /// Complete in memory (possibly empty): the request can be sent again.
        case buffered([UInt8])
        /// `prefix` was read; the rest still comes from the client while it is sent.
        case streaming(prefix: [UInt8])

        var isReplayable: Bool {
            if case .buffered = self { return true }
            return false
        }
    }
}

/// The settings, states and per-event actions of `ProxyConnection.StateMachine`. Each event
/// has its own `Equatable` action enum holding only the outcomes that event can have.
extension ProxyConnection.StateMachine {
    typealias OutgoingBody = ProxyConnection.OutgoingBody

    /// The limits that shape the machine's decisions.
    struct Settings: Sendable {
        /// Bounds on request heads (and bodies, through `maxBodyBytes`), enforced while parsing.
        var limits = HTTPLimits(maxBodyBytes: .max)
        /// Bodies up to this size are read whole before forwarding, so that the request can be
        /// replayed after a 401; larger ones stream through.
        var maxReplayBodyBytes = Limits.Proxy.maxReplayBodyBytes
        /// A body sent along with a request we answer locally is read and dropped up to this
        /// size, to keep the connection; past it the connection closes.
        var maxDiscardedBodyBytes = Limits.Proxy.maxDiscardedBodyBytes
    }

    /// Which read deadline applies. `.body` is armed anew for every read: it bounds a stall,
    /// not the whole body.
    enum Deadline: Sendable, Equatable {
        /// Between keep-alive requests with nothing buffered: expiry closes silently.
        case idle
        /// A request head is (or, on a fresh connection, should be) arriving: expiry → 408.
        case header
        /// A request body is arriving: expiry closes (the client stalled).
        case body
    }

    /// What the delegate decided for a request, as far as the request side is concerned.
    enum Route: Sendable, Equatable {
        /// Answer locally with this response.
        case respond(HTTPServerResponse)
        /// Send the request upstream, offering only the `Upgrade` protocols whose (lowercased)
        /// names `allowedUpgrades` lists.
        case forward(allowedUpgrades: [String])
        /// CONNECT: relay bytes to an allow-listed `host:port`.
        case tunnel
    }

    /// A request whose head was parsed.
    ///
    /// It keeps what the machine asks of the head, not the head: a stored head was one more
    /// owner of its box (a retain when parsed, a release when the state moved on), while the
    /// connection holds the head anyway. What it asks is packed in `traits`: with a stored
    /// property per flag, `Request` grew past what Swift passes in registers, and the `State`
    /// enum holding it was copied and destroyed through value witnesses (~500 instructions
    /// per request, callgrind).
    struct Request: Sendable, Equatable {
        var framing: ProxyHeaders.RequestFraming
        /// The request's end was parsed: no more client bytes belong to it.
        var complete = false
        /// The connection closes after this exchange (the client asked, an HTTP/1.0 client
        /// did not ask for keep-alive, or the engine shuts down).
        var closeAfter: Bool
        /// Until routing, the protocols of the client's `Upgrade` offer (empty unless it
        /// `offersUpgrade`); from `routeDecided(.forward)` on, those the route's allow-list
        /// lets through, the ones offered upstream: a `101` is relayed only when it switches
        /// to one of them.
        var upgrades: [String] = []
        let traits: Traits

        /// What the machine asks of the head, one bit each.
        struct Traits: Sendable, Equatable {
            let rawValue: UInt8
            static let offersUpgrade: UInt8 = 1
            static let http11: UInt8 = 2
            static let http10: UInt8 = 4
            static let head: UInt8 = 8
            static let connect: UInt8 = 16
            static let expectsContinue: UInt8 = 32

            func has(_ bit: UInt8) -> Bool { rawValue & bit != 0 }
        }

        /// `borrowing`: the head is read, not kept.
        init(head: borrowing HTTPRequestHead) {
            let facts = ProxyHeaders.RequestFacts(head)
            framing = facts.framing
            closeAfter = !facts.keepAlive
            var bits: UInt8 = 0
            if facts.isUpgradeRequest {
                bits |= Traits.offersUpgrade
                upgrades = head.fields.listElements("Upgrade").map(String.init)
            }
            let version = head.version
            if version == .http1_1 {
                bits |= Traits.http11
                // The token as the fields' facts noted it (a bit test, no lookup by name);
                // `factBits`: the `facts` getter made a copy of the fields (a retain).
                if HTTPFields.Facts(rawValue: head.fields.factBits).has(.expectContinue) {
                    bits |= Traits.expectsContinue
                }
            } else if version == .http1_0 {
                bits |= Traits.http10
            }
            if head.method == "HEAD" { bits |= Traits.head }
            if head.method == "CONNECT" { bits |= Traits.connect }
            traits = Traits(rawValue: bits)
        }

        /// The request offers an `Upgrade` (`ProxyHeaders.isUpgradeRequest`).
        var offersUpgrade: Bool { traits.has(Traits.offersUpgrade) }
        var isHTTP11: Bool { traits.has(Traits.http11) }
        var isHTTP10: Bool { traits.has(Traits.http10) }
        /// The method is `HEAD` (its response has no body) or `CONNECT` (it may tunnel).
        var isHEAD: Bool { traits.has(Traits.head) }
        var isCONNECT: Bool { traits.has(Traits.connect) }
        /// Whether the client waits for `100 Continue` before sending the body (RFC 9110
        /// §10.1.1; an HTTP/1.0 client cannot have meant it).
        var expectsContinue: Bool { traits.has(Traits.expectsContinue) }

        /// Whether the request announces a body (chunked or a non-zero Content-Length).
        var hasBody: Bool { framing != .none && framing != .length(0) }

        /// `ProxyHeaders.allowedUpgrades` on the offer kept in `upgrades`: the offered
        /// protocols whose names `allowed` lists, in the client's order.
        mutating func allowUpgrades(_ allowed: [String]) {
            upgrades =
                offersUpgrade
                ? ProxyHeaders.allowedUpgrades(offered: upgrades, allowed: allowed) : []
        }
    }

    /// Where the connection stands; each state carries the data it needs.
    enum State: Sendable, Equatable {
        /// Between requests with nothing buffered (also before the first request).
        case idle
        /// Part of a request head is buffered.
        case readingHead
        /// The head was parsed; the delegate's decision is awaited.
        case routing(Request)
        /// `100 Continue` is being written before the body is read.
        case continuing(Request)
        /// Answering locally: the body is read and dropped first.
        case discardingBody(Request, response: HTTPServerResponse, discarded: Int)
        /// Forwarding: the body is read into memory first (up to the replay limit).
        case bufferingBody(Request, body: [UInt8])
        /// The upstream exchange runs; the rest of the body streams when not `complete`.
        case forwarding(Request)
        /// A local answer is being written.
        case responding(Request)
        /// HTTP is over (CONNECT or 101): bytes are relayed untouched until either side closes.
        case tunnelling
        case closed
    }

    /// Result of `start()`.
    enum StartAction: Sendable, Equatable {
        /// Read the first request; the header deadline counts from accepting.
        case readMore(arm: Deadline)
    }

    /// Result of `readable(_:)` and `endOfInput()`.
    enum ReadableAction: Sendable, Equatable {
        /// Bytes wait in the parser until the exchange in progress ends.
        case doNothing
        /// Read more; arm `arm` from now, or keep the running deadline when nil.
        case readMore(arm: Deadline?)
        /// A request head is complete: ask the delegate, then report `routeDecided(_:)`.
        case decideRoute(HTTPRequestHead)
        /// The request broke HTTP/1.1 framing or a limit: answer `error.status` and close;
        /// nothing of it is forwarded (or, mid-body, nothing more).
        case reject(HTTPParseError)
        /// The body is read (or its first part, when it is long): send the request upstream.
        case forward(OutgoingBody)
        /// Send this piece of a streaming body upstream, then report `bodyPartSent()`.
        case sendBody(ArraySlice<UInt8>)
        /// The streaming body ended: finish it upstream.
        case finishBody
        /// Write this local answer, closing afterwards when `close`; then `responseSent`.
        case respond(HTTPServerResponse, close: Bool)
        /// The client left between requests.
        case close
    }

    /// Result of `routeDecided(_:)`.
    enum RouteDecidedAction: Sendable, Equatable {
        /// Write this local answer, closing afterwards when `close`; then `responseSent`.
        case respond(HTTPServerResponse, close: Bool)
        /// Read the body (under the body deadline).
        case readMore(arm: Deadline)
        /// Write `100 Continue` (we answer the expectation ourselves), then `continueSent()`.
        case sendContinue
        case forward(OutgoingBody)
        case reject(HTTPParseError)
        /// Not a CONNECT, or one with a body: answer an error and close.
        case refuseTunnel
        /// Open the tunnel; `clientBytes` arrived after the CONNECT head and belong to it.
        case openTunnel(clientBytes: [UInt8])
    }

    /// Result of `continueSent()`.
    enum ContinueSentAction: Sendable, Equatable {
        case readMore(arm: Deadline)
        case forward(OutgoingBody)
        case reject(HTTPParseError)
    }

    /// Result of `bodyPartSent()`.
    enum BodyPartSentAction: Sendable, Equatable {
        /// No body is streaming.
        case doNothing
        case readMore(arm: Deadline)
        case sendBody(ArraySlice<UInt8>)
        case finishBody
        case reject(HTTPParseError)
    }

    /// Result of `responseHeadReceived(_:)`.
    enum ResponseHeadAction: Sendable, Equatable {
        /// Relay the response with this body framing and `Connection` field.
        case relay(ProxyHeaders.ResponseFraming, connection: ProxyHeaders.ConnectionField)
        /// A 101 to an upgrade request: relay both ways; `clientBytes` already arrived.
        case switchProtocols(clientBytes: [UInt8])
        /// A 101 to a request that offered no allowed upgrade, or switching to a protocol it did
        /// not offer: answer 502 and close.
        case refuseSwitch
    }

    /// Result of `exchangeFailed()`.
    enum ExchangeFailedAction: Sendable, Equatable {
        /// Answer the error, closing afterwards when `close`; then `responseSent`.
        case answer(close: Bool)
    }

    /// Result of `responseSent(intact:)`: close, or go on with the next request.
    enum ResponseSentAction: Sendable, Equatable {
        case close
        case readMore(arm: Deadline?)
        /// A pipelined request head was already buffered.
        case decideRoute(HTTPRequestHead)
        case reject(HTTPParseError)
    }

    /// Result of `deadlineExpired()`.
    enum DeadlineExpiredAction: Sendable, Equatable {
        /// No read deadline applies.
        case doNothing
        /// Idle between requests, or a body stalled: close (nothing useful can be said).
        case close
        /// A head was too slow: answer 408 and close.
        case requestTimeout
        /// A body we were dropping stalled: give the local answer and close.
        case respond(HTTPServerResponse, close: Bool)
    }

    /// Result of `shutdownRequested()`.
    enum ShutdownAction: Sendable, Equatable {
        /// An exchange is in progress: the connection closes after it.
        case doNothing
        case close
    }
}
