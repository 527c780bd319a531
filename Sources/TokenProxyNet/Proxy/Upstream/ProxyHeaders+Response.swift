import TokenProxyCore

/// The response side of `ProxyHeaders`: the body framing toward the client and the response
/// head written for it (RFC 9112 §6.3, RFC 9110 §7.6.1).
extension ProxyHeaders {
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
        var bytes: [UInt8] = []
        appendClientResponse(head, framing: framing, connection: connection, via: via, to: &bytes)
        return bytes
    }

    /// `clientResponse`, appended to `sink` (the client's output queue: the head is written
    /// in its storage, kept across requests, so it allocates nothing).
    static func appendClientResponse(
        _ head: HTTPResponseHead, framing: ResponseFraming, connection: ConnectionField,
        via: String, to sink: inout some HeadSink
    ) {
        // The fields' bytes in place (see `appendUpstreamRequest`): each pass over a copy,
        // or over `head.fields` inside the writing closure, was an atomic retain and release.
        // Sound: `head`, held by the caller for this call, holds its box and the box the
        // fields, and nothing here changes them.
        let fields = head.fields.unsafeStorage
        // The static lists are read where they are used (`droppedDownstream(contains:chunked:)`),
        // not copied into a local (a copy of a list's array is a retain and a release).
        let chunked = framing == .chunked
        // Fields this response drops besides the static lists: those its `Connection` nominates (but a
        // chunked relay keeps `Trailer`), and the length when we frame the body ourselves.
        // Made only when a field needs them (see `appendUpstreamRequest`).
        var drop: FieldNameList?
        var existingVia: [String]?
        // What the upstream's fields take on the wire, all of them: a bound for those copied
        // (the `Upgrade` lines of a 101 are among them).
        var fieldBytes = 0
        fields.forEachField { _, name, value in
            fieldBytes &+= name.count &+ value.count &+ 4
            if FieldNameList.isNamed(name, "connection") {
                HTTPFields.forEachListElement(value) { token in
                    if chunked && FieldNameList.isNamed(token, "trailer") { return }
                    if !droppedDownstream(contains: token, chunked: chunked) {
                        if drop == nil { drop = FieldNameList() }
                        drop?.insert(token)
                    }
                }
            } else if FieldNameList.isNamed(name, "via") {
                appendValue(value, to: &existingVia)
            }
        }
        let dropLength = framing != .none || head.status == 204
        let viaValue = existingVia.map { joined($0, adding: via) } ?? via
        // The status line's literal parts, framing and `Connection` lines and CRLFs take less
        // than `fixedBytes`; the rest is counted.
        let fixedBytes = 128 + 2 * HeadWriter.maxDecimalBytes
        let capacity =
            fixedBytes + head.reason.utf8.count + viaValue.utf8.count
            + (connection == .upgrade ? 2 * fieldBytes : fieldBytes)

        sink.appendHead(capacity: capacity) { out in
            out.write("HTTP/1.1 ")
            out.decimal(head.status)
            out.byte(0x20)
            out.write(head.reason)
            out.crlf()
            fields.forEachField { _, name, value in
                if droppedDownstream(contains: name, chunked: chunked) { return }
                if dropLength && FieldNameList.isNamed(name, "content-length") { return }
                if let drop, drop.contains(name) { return }
                out.field(name, value)
            }
            switch framing {
            case .none, .close: break
            case .length(let length):
                out.write("Content-Length: ")
                out.decimal(length)
                out.crlf()
            case .chunked: out.write("Transfer-Encoding: chunked\r\n")
            }
            out.field("Via", viaValue)
            switch connection {
            case .none: break
            case .close: out.write("Connection: close\r\n")
            case .keepAlive: out.write("Connection: keep-alive\r\n")
            case .upgrade:
                out.write("Connection: Upgrade\r\n")
                fields.forEachField { _, name, value in
                    guard FieldNameList.isNamed(name, "upgrade") else { return }
                    out.write("Upgrade: ")
                    out.write(value)
                    out.crlf()
                }
            }
            out.crlf()
        }
    }

    /// The length a response's `Content-Length` gives its body when no `Transfer-Encoding`
    /// overrides it (RFC 9112 §6.3): its first value, as `firstContentLength` reads it; nil
    /// without one. Read in the fields' storage (`HTTPFields.unsafeStorage`): a copy of the
    /// fields to read them was an atomic retain and release per response. Sound: `response`,
    /// held by the caller for this call, holds its box and the box the fields, unchanged here.
    static func contentLength(of response: HTTPResponseHead) -> Int? {
        let fields = response.fields.unsafeStorage
        if HTTPFields.Facts(rawValue: fields.factBits).has(.transferEncoding) { return nil }
        guard let value = fields.firstContentLengthValue else { return nil }
        return firstContentLength(value)
    }

    /// Whether `name` is among the fields never copied to the client as they are
    /// (`droppedDownstream`, or `droppedDownstreamChunked` for a chunked relay).
    @inline(__always)
    static func droppedDownstream(contains name: UnsafeBufferPointer<UInt8>, chunked: Bool) -> Bool
    {
        chunked ? droppedDownstreamChunked.contains(name) : droppedDownstream.contains(name)
    }
}
