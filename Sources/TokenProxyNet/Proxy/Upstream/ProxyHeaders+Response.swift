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
}
