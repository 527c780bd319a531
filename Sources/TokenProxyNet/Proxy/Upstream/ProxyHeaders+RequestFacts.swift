import TokenProxyCore

extension ProxyHeaders {
    /// What the engine decides from a request's fields, found in one pass over their bytes
    /// when the head arrives: the body framing, keep-alive (RFC 9112 §9.3) and whether an
    /// `Upgrade` is offered (RFC 9110 §7.8). Asking `fields.contains`, `fields[…]` and
    /// `head.keepAlive` separately looked names up five times per request (~1,000
    /// instructions).
    struct RequestFacts: Equatable {
        var framing: RequestFraming
        var keepAlive: Bool
        /// HTTP/1.1, an `Upgrade` field, and `Connection` names `upgrade`.
        var isUpgradeRequest: Bool

        init(_ head: HTTPRequestHead) {
            var chunked = false
            var seenLength = false
            var length: Int?
            var hasConnection = false
            var close = false
            var keepAliveToken = false
            var upgradeToken = false
            var hasUpgrade = false
            head.fields.forEachField { _, name, value in
                if FieldNameList.isNamed(name, "transfer-encoding") {
                    chunked = true
                } else if FieldNameList.isNamed(name, "content-length") {
                    // The first value, as `Int` reads it (a list `12, 12` gives none), as
                    // `fields["Content-Length"]` did.
                    if !seenLength { length = Int(String(decoding: value, as: UTF8.self)) }
                    seenLength = true
                } else if FieldNameList.isNamed(name, "connection") {
                    hasConnection = true
                    HTTPFields.forEachListElement(value) { token in
                        if FieldNameList.isNamed(token, "close") {
                            close = true
                        } else if FieldNameList.isNamed(token, "keep-alive") {
                            keepAliveToken = true
                        } else if FieldNameList.isNamed(token, "upgrade") {
                            upgradeToken = true
                        }
                    }
                } else if FieldNameList.isNamed(name, "upgrade") {
                    hasUpgrade = true
                }
            }
            if chunked {
                framing = .chunked
            } else if let length {
                framing = .length(length)
            } else {
                framing = .none
            }
            let http11 = head.version == .http1_1
            // `HTTPVersion.keepsAlive(with:)`: without `Connection` HTTP/1.1 keeps the
            // connection; `close` ends it; HTTP/1.0 keeps it only when asked.
            keepAlive = !hasConnection ? http11 : !close && (http11 || keepAliveToken)
            isUpgradeRequest = http11 && hasUpgrade && upgradeToken
        }
    }
}
