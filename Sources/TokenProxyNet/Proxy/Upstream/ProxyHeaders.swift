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
        if fields.contains("Transfer-Encoding") { return .chunked }
        if let value = fields["Content-Length"], let length = Int(value) { return .length(length) }
        return .none
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
        return head.fields.listElements("Upgrade").filter { allowed.contains(protocolName($0)) }
            .map(String.init)
    }

    /// The lowercased `protocol-name` of an `Upgrade` element `name[/version]` (RFC 9110 §7.8).
    static func protocolName(_ element: Substring) -> String {
        lowercased(element.split(separator: "/", maxSplits: 1).first ?? "")
    }

    /// Whether a `101` names (in its `Upgrade` field, which RFC 9110 §15.2.2 requires) only
    /// protocols among those offered upstream, so that the switch is one the route allows.
    static func switchMatchesOffer(_ response: HTTPResponseHead, offered: [String]) -> Bool {
        let chosen = response.fields.listElements("Upgrade")
        let names = offered.map { protocolName(Substring($0)) }
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
        // Read once: `forward` is a class, and each read of a `var` is an exclusivity check.
        let authorization = forward.authorization
        let removeHeaders = forward.removeHeaders
        let forwardedHeaders = forward.forwardedHeaders
        // One pass for what decides the rest: the names `Connection` nominates (besides those
        // dropped anyway), the framing, list fields we extend, whether `Upgrade` is offered.
        var drop = FieldNameList()
        var existingVia: [String] = []
        var forwardedFor: [String] = []
        var chunked = false
        var seenLength = false
        var contentLength: Int?
        var offersUpgrade = false
        head.fields.forEachField { _, name, value in
            if FieldNameList.isNamed(name, "connection") {
                HTTPFields.forEachListElement(value) { token in
                    if !droppedUpstream.contains(token) { drop.insert(token) }
                }
            } else if FieldNameList.isNamed(name, "via") {
                existingVia.append(String(decoding: value, as: UTF8.self))
            } else if FieldNameList.isNamed(name, "transfer-encoding") {
                chunked = true
            } else if FieldNameList.isNamed(name, "content-length") {
                // The first value, as `Int` reads it (a list `12, 12` gives none).
                if !seenLength { contentLength = Int(String(decoding: value, as: UTF8.self)) }
                seenLength = true
            } else if FieldNameList.isNamed(name, "upgrade") {
                offersUpgrade = true
            } else if forwardedHeaders && FieldNameList.isNamed(name, "x-forwarded-for") {
                forwardedFor.append(String(decoding: value, as: UTF8.self))
            }
        }
        let dropAuthorization = authorization != nil

        var bytes: [UInt8] = []
        bytes.reserveCapacity(
            320 + forward.target.utf8.count + (authorization?.utf8.count ?? 0))
        appendUTF8(head.method, to: &bytes)
        bytes.append(0x20)
        appendUTF8(forward.target, to: &bytes)
        bytes.append(contentsOf: " HTTP/1.1\r\n".utf8)
        appendField("Host", forward.hostHeader, to: &bytes)
        head.fields.forEachField { _, name, value in
            if droppedUpstream.contains(name) { return }
            if !drop.isEmpty && drop.contains(name) { return }
            if dropAuthorization && FieldNameList.isNamed(name, "authorization") { return }
            if forwardedHeaders
                && (FieldNameList.isNamed(name, "x-forwarded-for")
                    || FieldNameList.isNamed(name, "x-forwarded-proto"))
            {
                return
            }
            if !removeHeaders.isEmpty
                && removeHeaders.contains(where: { FieldNameList.equal($0, name) })
            {
                return
            }
            appendLine(name, value, to: &bytes)
        }
        if chunked {
            bytes.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
        } else if let length = contentLength {
            bytes.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(length, to: &bytes)
            bytes.append(contentsOf: crlf)
        }
        if offersUpgrade {
            let upgrades = allowedUpgrades(head, allowed: forward.upgrades)
            if !upgrades.isEmpty {
                bytes.append(contentsOf: "Connection: Upgrade\r\n".utf8)
                appendField("Upgrade", upgrades.joined(separator: ", "), to: &bytes)
            }
        }
        appendField("Via", joined(existingVia, adding: via), to: &bytes)
        if forwardedHeaders {
            if let clientAddress { forwardedFor.append(clientAddress) }
            if !forwardedFor.isEmpty {
                appendField("X-Forwarded-For", forwardedFor.joined(separator: ", "), to: &bytes)
            }
            bytes.append(contentsOf: "X-Forwarded-Proto: http\r\n".utf8)
        }
        for field in forward.addHeaders { appendField(field.name, field.value, to: &bytes) }
        // Last, after everything a client field could influence.
        if let authorization = authorization {
            appendField("Authorization", authorization, to: &bytes)
        }
        bytes.append(contentsOf: crlf)
        return bytes
    }

    /// How the response body reaches the client.
    enum ResponseFraming: Equatable {
        /// No body (HEAD, 204, 304, 101): fields describing the representation pass as they are.
        case none
        case length(Int)
        case chunked
        /// Delimited by closing the connection (HTTP/1.0 clients of a chunked or until-close
        /// upstream body).
        case close
    }

    /// What the `Connection` field tells the client.
    enum ConnectionField: Equatable {
        /// Nothing: HTTP/1.1 keeps the connection by default.
        case none
        case close
        /// For an HTTP/1.0 client that asked for keep-alive.
        case keepAlive
        /// A 101 switching protocols: `Connection: Upgrade` and the upstream's `Upgrade`.
        case upgrade
    }

    /// The bytes of the response head sent to the client, written straight into one byte
    /// array: no intermediate `HTTPFields`, and no per-response list of names to drop unless
    /// the upstream's `Connection` nominates a field that is not hop-by-hop anyway.
    static func clientResponse(
        _ head: HTTPResponseHead, framing: ResponseFraming, connection: ConnectionField, via: String
    ) -> [UInt8] {
        let base = framing == .chunked ? droppedDownstreamChunked : droppedDownstream
        // Fields this response drops besides `base`: those its `Connection` nominates (but a
        // chunked relay keeps `Trailer`), and the length when we frame the body ourselves.
        var drop = FieldNameList()
        var existingVia: [String] = []
        head.fields.forEachField { _, name, value in
            if FieldNameList.isNamed(name, "connection") {
                HTTPFields.forEachListElement(value) { token in
                    if framing == .chunked && FieldNameList.isNamed(token, "trailer") { return }
                    if !base.contains(token) { drop.insert(token) }
                }
            } else if FieldNameList.isNamed(name, "via") {
                existingVia.append(String(decoding: value, as: UTF8.self))
            }
        }
        let dropLength = framing != .none || head.status == 204

        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        bytes.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(head.status, to: &bytes)
        bytes.append(0x20)
        appendUTF8(head.reason, to: &bytes)
        bytes.append(contentsOf: crlf)
        head.fields.forEachField { _, name, value in
            if base.contains(name) { return }
            if dropLength && FieldNameList.isNamed(name, "content-length") { return }
            if !drop.isEmpty && drop.contains(name) { return }
            appendLine(name, value, to: &bytes)
        }
        switch framing {
        case .none, .close: break
        case .length(let length):
            bytes.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(length, to: &bytes)
            bytes.append(contentsOf: crlf)
        case .chunked: bytes.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
        }
        appendField("Via", joined(existingVia, adding: via), to: &bytes)
        switch connection {
        case .none: break
        case .close: bytes.append(contentsOf: "Connection: close\r\n".utf8)
        case .keepAlive: bytes.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        case .upgrade:
            bytes.append(contentsOf: "Connection: Upgrade\r\n".utf8)
            head.fields.forEachField { _, name, value in
                guard FieldNameList.isNamed(name, "upgrade") else { return }
                bytes.append(contentsOf: "Upgrade: ".utf8)
                bytes.append(contentsOf: value)
                bytes.append(contentsOf: crlf)
            }
        }
        bytes.append(contentsOf: crlf)
        return bytes
    }

    private static let crlf: [UInt8] = [0x0D, 0x0A]

    /// `name: value` CRLF.
    static func appendField(_ name: String, _ value: String, to bytes: inout [UInt8]) {
        appendUTF8(name, to: &bytes)
        bytes.append(0x3A)
        bytes.append(0x20)
        appendUTF8(value, to: &bytes)
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    /// `name: value` CRLF from a field's stored bytes (RFC 9112 §5): two block copies.
    @inline(__always)
    static func appendLine(
        _ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>,
        to bytes: inout [UInt8]
    ) {
        bytes.append(contentsOf: name)
        bytes.append(0x3A)
        bytes.append(0x20)
        bytes.append(contentsOf: value)
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    /// The string's UTF-8 bytes, copied as one block from its storage: the generic
    /// `append(contentsOf: string.utf8)` walks the view's indices byte by byte.
    @inline(__always)
    static func appendUTF8(_ string: String, to bytes: inout [UInt8]) {
        let copied: Void? = string.utf8.withContiguousStorageIfAvailable {
            bytes.append(contentsOf: $0)
        }
        if copied == nil { bytes.append(contentsOf: string.utf8) }
    }

    /// `value` in decimal ASCII digits, without a `String` (negative values do not occur).
    static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        guard value > 0 else {
            bytes.append(contentsOf: String(value).utf8)
            return
        }
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(0x30 + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
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

    /// `existing` values followed by `value`, as one comma-separated list.
    private static func joined(_ existing: [String], adding value: String) -> String {
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
