import TokenProxyCore

/// Answers the proxy gives itself: the delegate's `.respond`, errors, rejected requests
/// (when and how to close is decided by `ProxyConnection.StateMachine`).
extension ProxyConnection {
    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    /// A body the client sends anyway with a local answer is read and dropped up to this
    /// size, to keep the connection; past it the connection closes.
    static let maxDiscardedBodyBytes = 1 << 20
    /// Fields the engine writes itself in local responses.
    private static let ownedFields = ["Content-Length", "Transfer-Encoding", "Connection", "Date"]

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

    /// Writes a whole local response (after any output gathered before it). The engine owns
    /// the framing fields; fields that could not go on the wire are dropped.
    @discardableResult
    func writeResponse(_ response: HTTPServerResponse, head: HTTPRequestHead?, close: Bool) -> Bool
    {
        let status = (100...999).contains(response.status) ? response.status : 500
        var fields = HTTPFields()
        for field in response.headers
        where !Self.ownedFields.contains(where: { HTTPFields.namesEqual($0, field.name) })
            && HTTPFields.isValidName(field.name) && HTTPFields.isValidValue(field.value)
        {
            fields.append(field.name, field.value)
        }
        let noBody = (100..<200).contains(status) || status == 204 || status == 304
        if !noBody { fields.append("Content-Length", String(response.body.count)) }
        fields.append("Date", String(decoding: date.current(), as: UTF8.self))
        if close {
            fields.append("Connection", "close")
        } else if head?.version == .http1_0 {
            fields.append("Connection", "keep-alive")
        }
        output += HTTPSerializer.responseHead(HTTPResponseHead(status: status, fields: fields))
        if !noBody && head?.method != "HEAD" { output += response.body }
        do {
            try flushOutput()
            return true
        } catch {
            return false
        }
    }
}
