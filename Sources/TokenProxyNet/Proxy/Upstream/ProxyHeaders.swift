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

    /// The head sent upstream for `head` as decided by `forward`. `clientAddress` is appended
    /// to `X-Forwarded-For` (nil for Unix-socket clients, which have no address). Only the
    /// upgrades `forward.upgrades` allows are offered upstream; without one, `Upgrade`,
    /// `HTTP2-Settings` and the `Connection` tokens naming them are gone and the request is a
    /// plain HTTP/1.1 request, as nginx sends it.
    static func upstreamRequest(
        _ head: HTTPRequestHead, forward: ProxyForward, clientAddress: String?, via: String
    ) -> HTTPRequestHead {
        // What this request drops besides `droppedUpstream`.
        var drop = FieldNameList()
        for token in head.fields.listElements("Connection") { drop.insert(token) }
        if forward.authorization != nil { drop.insert("authorization") }
        if forward.forwardedHeaders {
            drop.insert("x-forwarded-for")
            drop.insert("x-forwarded-proto")
        }
        for name in forward.removeHeaders { drop.insert(name) }

        var fields = HTTPFields()
        fields.append("Host", forward.hostHeader)
        for field in head.fields
        where !droppedUpstream.contains(field.name) && !drop.contains(field.name) {
            fields.append(field.name, field.value)
        }
        switch requestFraming(head.fields) {
        case .none: break
        case .length(let length): fields.append("Content-Length", String(length))
        case .chunked: fields.append("Transfer-Encoding", "chunked")
        }
        let upgrades = allowedUpgrades(head, allowed: forward.upgrades)
        if !upgrades.isEmpty {
            fields.append("Connection", "Upgrade")
            fields.append("Upgrade", upgrades.joined(separator: ", "))
        }
        fields.append("Via", joined(head.fields.values("Via"), adding: via))
        if forward.forwardedHeaders {
            var forwardedFor = head.fields.values("X-Forwarded-For")
            if let clientAddress { forwardedFor.append(clientAddress) }
            if !forwardedFor.isEmpty {
                fields.append("X-Forwarded-For", forwardedFor.joined(separator: ", "))
            }
            fields.append("X-Forwarded-Proto", "http")
        }
        for field in forward.addHeaders { fields.append(field.name, field.value) }
        // Last, after everything a client field could influence.
        if let authorization = forward.authorization {
            fields.append("Authorization", authorization)
        }
        return HTTPRequestHead(
            method: head.method, target: forward.target, version: .http1_1, fields: fields)
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

    /// The bytes of the response head sent to the client.
    static func clientResponse(
        _ head: HTTPResponseHead, framing: ResponseFraming, connection: ConnectionField, via: String
    ) -> [UInt8] {
        let base = framing == .chunked ? droppedDownstreamChunked : droppedDownstream
        // What this response drops besides `base`.
        var drop = FieldNameList()
        for token in head.fields.listElements("Connection") { drop.insert(token) }
        if framing != .none || head.status == 204 { drop.insert("content-length") }
        if framing == .chunked { drop.remove("trailer") }

        var fields = HTTPFields()
        for field in head.fields where !base.contains(field.name) && !drop.contains(field.name) {
            fields.append(field.name, field.value)
        }
        switch framing {
        case .none, .close: break
        case .length(let length): fields.append("Content-Length", String(length))
        case .chunked: fields.append("Transfer-Encoding", "chunked")
        }
        fields.append("Via", joined(head.fields.values("Via"), adding: via))
        switch connection {
        case .none: break
        case .close: fields.append("Connection", "close")
        case .keepAlive: fields.append("Connection", "keep-alive")
        case .upgrade:
            fields.append("Connection", "Upgrade")
            for value in head.fields.values("Upgrade") { fields.append("Upgrade", value) }
        }
        return HTTPSerializer.responseHead(
            HTTPResponseHead(
                version: .http1_1, status: head.status, reason: head.reason, fields: fields))
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
