import TokenProxyCore

extension ProxyHeaders {
    /// What the engine decides from a request's fields: the body framing, keep-alive
    /// (RFC 9112 §9.3) and whether an `Upgrade` is offered (RFC 9110 §7.8). Read from the
    /// fields' facts (`HTTPFields+Facts`: names present, `Connection` tokens), noted when the
    /// parser appended each field: bit tests, and a scan only for a `Content-Length` value.
    /// Asking `fields.contains`, `fields[…]` and `head.keepAlive` separately looked names up
    /// five times per request (~1,000 instructions), one pass over the bytes ~390.
    struct RequestFacts: Equatable {
        var framing: RequestFraming
        var keepAlive: Bool
        /// HTTP/1.1, an `Upgrade` field, and `Connection` names `upgrade`.
        var isUpgradeRequest: Bool

        /// `borrowing`: an initializer's parameter is otherwise consumed (the caller retains
        /// the head for the call and this releases it).
        init(_ head: borrowing HTTPRequestHead) {
            // The fields are read through the head (not copied into a local: a retain and a
            // release), and only for a `Content-Length` value.
            let facts = HTTPFields.Facts(rawValue: head.fields.factBits)
            framing =
                ProxyHeaders.requestFraming(facts: facts)
                ?? ProxyHeaders.contentLengthFraming(head.fields)
            let http11 = head.version == .http1_1
            // `HTTPVersion.keepsAlive(with:)`: without `Connection` HTTP/1.1 keeps the
            // connection; `close` ends it; HTTP/1.0 keeps it only when asked.
            keepAlive =
                !facts.has(.connection)
                ? http11
                : !facts.has(.connectionClose) && (http11 || facts.has(.connectionKeepAlive))
            isUpgradeRequest = http11 && facts.has(.upgrade) && facts.has(.connectionUpgrade)
        }
    }
}

extension HTTPFields.Facts {
    /// Whether every fact of `fact` is noted: `contains` as a test of the raw bits. The
    /// `OptionSet` method, called from outside Core, went through the protocol's witness
    /// table (`SetAlgebra.isSuperset`, ~17 instructions a call).
    @inline(__always)
    func has(_ fact: HTTPFields.Facts) -> Bool {
        rawValue & fact.rawValue == fact.rawValue
    }
}
