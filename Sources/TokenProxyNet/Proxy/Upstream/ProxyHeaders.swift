import TokenProxyCore

/// Header rewriting between a client and an upstream (RFC 9110 §7.6): what a proxy must drop,
/// what it adds, and the body framing it owns on each side.
///
/// Framing fields (`Content-Length`, `Transfer-Encoding`), `Host` and an injected
/// `Authorization` are always removed from the copied fields and written by us afterwards, so
/// no client field — in particular a `Connection: Content-Length` or `Connection:
/// Authorization` trick — can change where a message ends or strip the injected credential.
enum ProxyHeaders {
    /// Hop-by-hop fields (RFC 9110 §7.6.1), plus the non-standard `Keep-Alive` and
    /// `Proxy-Connection` that old clients send. Lowercase.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Never copied upstream: the hop-by-hop fields, and those we write ourselves (`Host`,
    /// framing, `Via`) or drop (`Expect`, answered by us; `HTTP2-Settings`, meaningful only
    /// with an `Upgrade: h2c`, never forwarded).
    static let droppedUpstream = FieldNameList(
        Array(hopByHop) + ["host", "content-length", "expect", "via", "http2-settings"])
    /// Never copied to the client as they are: hop-by-hop fields and `Via` (appended to).
    static let droppedDownstream = FieldNameList(Array(hopByHop) + ["via"])
    static let droppedDownstreamChunked = FieldNameList(
        Array(hopByHop.subtracting(["trailer"])) + ["via"])

    /// How a request body is framed, decided from fields the parser already validated.
    enum RequestFraming: Equatable {
        /// No body and no Content-Length field.
        case none
        /// `Content-Length: n` (0 included: some servers answer 411 to a POST without it).
        case length(Int)
        case chunked
    }

    static func requestFraming(_ fields: HTTPFields) -> RequestFraming {
        requestFraming(facts: fields.facts) ?? contentLengthFraming(fields)
    }

    /// What the framing fields' presence alone decides (bit tests of the fields' facts):
    /// chunked, or no body; nil when a `Content-Length` value must be read
    /// (`contentLengthFraming`). Split so that a caller holding the head reads its fields
    /// only then (`RequestFacts`: a copy of the fields is a retain and a release).
    static func requestFraming(facts: HTTPFields.Facts) -> RequestFraming? {
        if facts.has(.transferEncoding) { return .chunked }
        return facts.has(.contentLength) ? nil : RequestFraming.none
    }

    /// The framing `Content-Length` gives: its first value, as `Int` reads it (a list
    /// `12, 12` gives none).
    static func contentLengthFraming(_ fields: HTTPFields) -> RequestFraming {
        let length = withFirstValue(of: fields, .contentLength) { value in
            Int(String(decoding: value, as: UTF8.self))
        }
        if let length = length ?? nil { return .length(length) }
        return .none
    }

    /// `body` with the value bytes of the first field called `name` (`Host`,
    /// `Content-Length`), or nil without one: the storage header notes where that field is, so
    /// this is a bit test and a load (by name, `firstIndex(named:)` first worked out from the
    /// name's bytes that it is a known one, ~65 instructions; a `forEachField` pass with a
    /// closure per field cost three times that).
    static func withFirstValue<Result>(
        of fields: HTTPFields, _ name: HTTPFields.FirstRecordName,
        _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result? {
        guard let index = fields.firstIndex(name) else { return nil }
        return fields.withValueBytes(at: index, body)
    }

    /// Whether the client asks to switch protocols (RFC 9110 §7.8: `Upgrade` is only meaningful
    /// when `Connection` names it, and only in HTTP/1.1).
    static func isUpgradeRequest(_ head: HTTPRequestHead) -> Bool {
        head.version == .http1_1 && head.fields.contains("Upgrade")
            && head.fields.listContains("Connection", token: "upgrade")
    }

    /// The protocols of the client's `Upgrade` offer whose names `allowed` lists (lowercased
    /// protocol names), as the client wrote them (`websocket`, `foo/2`), in its order. Empty
    /// when the request is no upgrade request or offers nothing allowed: it then goes upstream
    /// as a plain request. This is the allow-list that keeps `h2c` out: after a `101` to it the
    /// upstream would speak HTTP/2 on a connection the proxy only relays, so the requests that
    /// follow would bypass routing and token injection (h2c smuggling).
    static func allowedUpgrades(_ head: HTTPRequestHead, allowed: [String]) -> [String] {
        guard !allowed.isEmpty, isUpgradeRequest(head) else { return [] }
        return allowedUpgrades(offered: head.fields.listElements("Upgrade"), allowed: allowed)
    }

    /// The elements of an `Upgrade` offer (`offered`, as the client wrote them) whose
    /// protocol names `allowed` lists, in the client's order: the rule of
    /// `allowedUpgrades(_:allowed:)`, also applied to an offer kept apart from its head (the
    /// state machine's `Request`).
    static func allowedUpgrades(offered: [some StringProtocol], allowed: [String]) -> [String] {
        guard !allowed.isEmpty else { return [] }
        return offered.filter { allowed.contains(protocolName($0)) }.map { String($0) }
    }

    /// The lowercased `protocol-name` of an `Upgrade` element `name[/version]` (RFC 9110 §7.8).
    static func protocolName(_ element: some StringProtocol) -> String {
        lowercased(Substring(element).split(separator: "/", maxSplits: 1).first ?? "")
    }

    /// Whether a `101` names (in its `Upgrade` field, which RFC 9110 §15.2.2 requires) only
    /// protocols among those offered upstream, so that the switch is one the route allows.
    static func switchMatchesOffer(_ response: HTTPResponseHead, offered: [String]) -> Bool {
        let chosen = response.fields.listElements("Upgrade")
        let names = offered.map { protocolName($0) }
        return !chosen.isEmpty && chosen.allSatisfy { names.contains(protocolName($0)) }
    }

    /// The head sent upstream for `head` as decided by `forward`, parsed back (for tests: the
    /// engine sends the bytes of `upstreamRequestBytes` as they are).
    static func upstreamRequest(
        _ head: HTTPRequestHead, forward: ProxyForward, clientAddress: String?, via: String
    ) -> HTTPRequestHead {
        var parser = HTTPParser(mode: .request)
        parser.feed(
            upstreamRequestBytes(head, forward: forward, clientAddress: clientAddress, via: via))
        guard case .requestHead(let parsed)? = try? parser.next() else {
            preconditionFailure("the upstream head does not parse")
        }
        return parsed
    }

    /// The bytes of the head sent upstream for `head` as decided by `forward`, written straight
    /// into one array (no intermediate `HTTPFields`: building one and serializing it was a
    /// tenth of a proxied request). `clientAddress` is appended to `X-Forwarded-For` (nil for
    /// Unix-socket clients, which have no address). Only the upgrades `forward.upgrades`
    /// allows are offered upstream; without one, `Upgrade`, `HTTP2-Settings` and the
    /// `Connection` tokens naming them are gone and the request is a plain HTTP/1.1 request,
    /// as nginx sends it. The client's fields were validated by the parser; what the delegate
    /// adds is checked by `ProxyConnection.problem(with:via:)` before this runs.
    static func upstreamRequestBytes(
        _ head: HTTPRequestHead, forward: ProxyForward, clientAddress: String?, via: String
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        appendUpstreamRequest(
            head, forward: forward, clientAddress: clientAddress, via: via, to: &bytes)
        return bytes
    }

    /// `upstreamRequestBytes`, appended to `sink` (the upstream's output queue: the head is
    /// written in its storage, kept across requests, so it allocates nothing).
    static func appendUpstreamRequest(
        _ head: HTTPRequestHead, forward: ProxyForward, clientAddress: String?, via: String,
        to sink: inout some HeadSink
    ) {
        // The fields' bytes in place: a copy of the fields (into a local, or read again inside
        // the writing closure) was an atomic retain and release of their storage. Sound:
        // `head`, held by the caller for this call, holds its box and the box the fields, and
        // nothing here changes them or reaches the parser that recycles boxes.
        let fields = head.fields.unsafeStorage
        // The injected `Authorization` in place (`ProxyForward.authorizationStorageBytes`; a
        // short value is copied where it is written, a small string: no retain). Sound: the
        // caller holds `forward` for this call, and nothing here sets its `authorization`.
        let authorizationBytes = forward.authorizationStorageBytes
        let authorizationCount = authorizationBytes?.count ?? forward.authorization?.utf8.count
        // The template's constants are `let`s, read in place; the removed names are asked of
        // the forward (`ProxyForward.removesField`), which compares them where they are
        // stored (its `removeHeaders` getter returns a copy of the array).
        let forwardedHeaders = forward.forwardedHeaders
        let removes = forward.removesAnyField
        // One pass for what decides the rest: the names `Connection` nominates (besides those
        // dropped anyway), the framing, list fields we extend, whether `Upgrade` is offered.
        // Optionals, made only when a field needs them: most heads fill none, and an empty
        // array is still a retain when made and a release when dropped.
        var drop: FieldNameList?
        var existingVia: [String]?
        var forwardedFor: [String]?
        var chunked = false
        var seenLength = false
        var contentLength: Int?
        var offersUpgrade = false
        // What the client's fields take on the wire, all of them: a bound for those copied.
        var fieldBytes = 0
        fields.forEachField { _, name, value in
            fieldBytes &+= name.count &+ value.count &+ 4
            if FieldNameList.isNamed(name, "connection") {
                HTTPFields.forEachListElement(value) { token in
                    if !droppedUpstream.contains(token) {
                        if drop == nil { drop = FieldNameList() }
                        drop?.insert(token)
                    }
                }
            } else if FieldNameList.isNamed(name, "via") {
                appendValue(value, to: &existingVia)
            } else if FieldNameList.isNamed(name, "transfer-encoding") {
                chunked = true
            } else if FieldNameList.isNamed(name, "content-length") {
                // The first value, as `Int` reads it (a list `12, 12` gives none).
                if !seenLength { contentLength = Int(String(decoding: value, as: UTF8.self)) }
                seenLength = true
            } else if FieldNameList.isNamed(name, "upgrade") {
                offersUpgrade = true
            } else if forwardedHeaders && FieldNameList.isNamed(name, "x-forwarded-for") {
                appendValue(value, to: &forwardedFor)
            }
        }
        let dropAuthorization = authorizationCount != nil
        let upgrades = offersUpgrade ? allowedUpgrades(head, allowed: forward.upgrades) : nil
        let upgradeValue = upgrades.map { $0.joined(separator: ", ") } ?? ""
        let viaValue = existingVia.map { joined($0, adding: via) } ?? via
        if forwardedHeaders, let clientAddress {
            if forwardedFor == nil { forwardedFor = [] }
            forwardedFor?.append(clientAddress)
        }
        let forwardedForValue = forwardedFor?.joined(separator: ", ") ?? ""
        let addHeaders = forward.addHeaders
        var addedBytes = 0
        for field in addHeaders {
            addedBytes &+= field.name.utf8.count &+ field.value.utf8.count &+ 4
        }
        // `target` and `hostHeader` are constants of the forward and its template (`let`s),
        // read where used: borrowed, where a local was a copy kept across the calls below.

        // The literal parts (request line, field names, framing, CRLFs) take less than
        // `fixedBytes`; the rest is counted.
        let fixedBytes = 192 + HeadWriter.maxDecimalBytes
        let capacity =
            fixedBytes + head.method.utf8.count + forward.target.utf8.count
            + forward.template.hostHeader.utf8.count
            + fieldBytes + upgradeValue.utf8.count + viaValue.utf8.count
            + forwardedForValue.utf8.count + addedBytes + (authorizationCount ?? 0)
        sink.appendHead(capacity: capacity) { out in
            out.write(head.method)
            out.byte(0x20)
            out.write(forward.target)
            out.write(" HTTP/1.1\r\n")
            out.field("Host", forward.template.hostHeader)
            fields.forEachField { _, name, value in
                if droppedUpstream.contains(name) { return }
                if let drop, drop.contains(name) { return }
                if dropAuthorization && FieldNameList.isNamed(name, "authorization") { return }
                if forwardedHeaders
                    && (FieldNameList.isNamed(name, "x-forwarded-for")
                        || FieldNameList.isNamed(name, "x-forwarded-proto"))
                {
                    return
                }
                if removes && forward.removesField(name) { return }
                out.field(name, value)
            }
            if chunked {
                out.write("Transfer-Encoding: chunked\r\n")
            } else if let length = contentLength {
                out.write("Content-Length: ")
                out.decimal(length)
                out.crlf()
            }
            if !upgradeValue.isEmpty {
                out.write("Connection: Upgrade\r\n")
                out.field("Upgrade", upgradeValue)
            }
            out.field("Via", viaValue)
            if forwardedHeaders {
                if !forwardedForValue.isEmpty { out.field("X-Forwarded-For", forwardedForValue) }
                out.write("X-Forwarded-Proto: http\r\n")
            }
            // Names of added fields are checked tokens (`ProxyConnection.problem`).
            for field in addHeaders {
                out.write(field.name)
                out.write(": ")
                out.write(field.value)
                out.crlf()
            }
            // Last, after everything a client field could influence.
            if let authorizationBytes {
                out.write("Authorization: ")
                out.write(authorizationBytes)
                out.crlf()
            } else if let authorization = forward.authorization {
                out.field("Authorization", authorization)
            }
            out.crlf()
        }
    }

    /// Calls `body` with each element of a comma-separated list value (RFC 9110 §5.6.1),
    /// trimmed of OWS, empty ones skipped; scans bytes (`String.split` walks graphemes).
    static func forEachListElement(_ value: String, _ body: (String) -> Void) {
        let utf8 = value.utf8
        var start = utf8.startIndex
        var index = start
        while true {
            let atEnd = index == utf8.endIndex
            if atEnd || utf8[index] == UInt8(ascii: ",") {
                var first = start
                var last = index
                while first < last, utf8[first] == 0x20 || utf8[first] == 0x09 {
                    first = utf8.index(after: first)
                }
                while first < last {
                    let before = utf8.index(before: last)
                    guard utf8[before] == 0x20 || utf8[before] == 0x09 else { break }
                    last = before
                }
                if first < last { body(String(value[first..<last])) }
                if atEnd { return }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
    }

    /// The first number of a `Content-Length` value (`12` or the list `12, 12`, which the
    /// parser accepted only with equal members), or nil when it is not one.
    static func firstContentLength(_ value: UnsafeBufferPointer<UInt8>) -> Int? {
        var result = 0
        var digits = 0
        var trailing = false
        for byte in value {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9") where !trailing:
                let (times, overflow) = result.multipliedReportingOverflow(by: 10)
                let (sum, overflowAgain) = times.addingReportingOverflow(Int(byte - 0x30))
                guard !overflow && !overflowAgain else { return nil }
                result = sum
                digits += 1
            case 0x20, 0x09:
                if digits > 0 { trailing = true }
            case UInt8(ascii: ","):
                return digits > 0 ? result : nil
            default:
                return nil
            }
        }
        return digits > 0 ? result : nil
    }

    /// Appends `value` as a `String` to `values`, made on the first one.
    static func appendValue(_ value: UnsafeBufferPointer<UInt8>, to values: inout [String]?) {
        if values == nil { values = [] }
        values?.append(String(decoding: value, as: UTF8.self))
    }

    /// `existing` values followed by `value`, as one comma-separated list.
    static func joined(_ existing: [String], adding value: String) -> String {
        existing.isEmpty ? value : (existing + [value]).joined(separator: ", ")
    }

    /// ASCII lowercase; field names are ASCII tokens, so this is all the folding they need.
    static func lowercased(_ name: Substring) -> String {
        let utf8 = name.utf8
        guard utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return String(name) }
        return String(
            decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
