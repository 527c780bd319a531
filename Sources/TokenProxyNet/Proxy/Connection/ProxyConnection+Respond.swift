import TokenProxyCore

/// Answers the proxy gives itself: the delegate's `.respond`, errors, rejected requests
/// (when and how to close is decided by `ProxyConnection.StateMachine`).
extension ProxyConnection {

    /// Answers `status` with a short `text/plain` explanation.
    @discardableResult
    func writeLocal(status: Int, text: String, close: Bool, head: HTTPRequestHead? = nil) -> Bool {
        writeResponse(
            HTTPServerResponse(
                status: status, headers: ["Content-Type": "text/plain; charset=utf-8"],
                body: Array("tokenproxy: \(text)\n".utf8)),
            head: head, close: close)
    }

    /// Answers a request the parser refused, before closing; nothing of it was forwarded.
    func rejectRequest(_ error: HTTPParseError) {
        writeLocal(status: error.status, text: error.reason, close: true)
        report(
            nil, route: "", status: error.status, failure: "rejected request: \(error.reason)",
            start: .now)
    }

    /// Answers an exchange the engine could not complete. Returns whether the connection stays
    /// open.
    func fail(
        _ error: ProxyEngineError, head: HTTPRequestHead, route: String, close: Bool,
        retried: Bool = false, start: ContinuousClock.Instant
    ) -> Bool {
        let close = close || !head.keepAlive || shutdownRequested
        let written = writeLocal(
            status: error.status, text: error.description, close: close, head: head)
        report(
            head, route: route, status: error.status, failure: error.description,
            retried: retried, start: start)
        return written && !close
    }

    /// Writes a whole local response (after any output gathered before it), encoded as the
    /// token API server encodes its own (`HTTPServerResponseEncoder`).
    @discardableResult
    func writeResponse(_ response: HTTPServerResponse, head: HTTPRequestHead?, close: Bool) -> Bool
    {
        output += HTTPServerResponseEncoder.head(
            for: response, close: close, keepAlive: head?.version == .http1_0,
            date: date.current())
        if HTTPServerResponseEncoder.sendsBody(response, answeringHEAD: head?.method == "HEAD") {
            output += response.body
        }
        do {
            try flushOutput()
            return true
        } catch {
            return false
        }
    }
}
