import TokenProxyCore

/// Turns a response we generate ourselves — a token API answer, or the proxy's own answers
/// (errors, rejected requests, a delegate's `.respond`) — into bytes, for both servers.
///
/// The server owns framing: it writes `Content-Length`, `Date` and `Connection` itself and
/// drops any `Content-Length`, `Transfer-Encoding`, `Connection` or `Date` the response set, so
/// a handler can never make the head disagree with the body sent. Fields that could not go on
/// the wire (an invalid name, or CR, LF or NUL in a value: response splitting) are dropped.
enum HTTPServerResponseEncoder {
    /// The interim response that tells a client waiting on `Expect: 100-continue` to send its
    /// body (RFC 9110 §10.1.1, §15.2.1).
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    private static let crlf: [UInt8] = [0x0D, 0x0A]
    /// The fields the encoder writes itself.
    private static let ownedFields = ["Content-Length", "Transfer-Encoding", "Connection", "Date"]

    /// `status` if it is a three-digit code (RFC 9110 §15), else 500: a handler's mistake must
    /// not produce a status line a client cannot parse.
    static func clampedStatus(_ status: Int) -> Int {
        (100...999).contains(status) ? status : 500
    }

    /// Whether a response with `status` may have content: not 1xx (RFC 9110 §15.2), 204
    /// (§15.3.5) or 304 (§15.4.5).
    static func allowsContent(status: Int) -> Bool {
        status >= 200 && status != 204 && status != 304
    }

    /// The head of `response`, with `date` as the Date field value. `close` adds
    /// `Connection: close`; otherwise `keepAlive` adds `Connection: keep-alive` (the answer to
    /// an HTTP/1.0 client that asked to keep the connection, RFC 9112 §9.3).
    static func head(
        for response: HTTPServerResponse, close: Bool, keepAlive: Bool, date: [UInt8]
    ) -> [UInt8] {
        var bytes = response.encodedHead ?? headPrefix(for: response)
        bytes.append(contentsOf: headTail(close: close, keepAlive: keepAlive, date: date))
        return bytes
    }

    /// The part of a head that depends only on the response: the status line, the handler's
    /// fields and `Content-Length`, each line ending in CRLF. What follows it (`headTail`)
    /// changes per second and per connection; a response that is sent many times carries this
    /// part pre-serialized (`HTTPServerResponse.preEncoded()`).
    static func headPrefix(for response: HTTPServerResponse) -> [UInt8] {
        let status = clampedStatus(response.status)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + response.headers.count * 48)
        append("HTTP/1.1 ", to: &bytes)
        HTTPServerDate.appendDigits(status, count: 3, to: &bytes)
        bytes.append(0x20)
        bytes.append(contentsOf: HTTPResponseHead.standardReason(for: status).utf8)
        bytes.append(contentsOf: crlf)
        for field in response.headers
        where !ownedFields.contains(where: { HTTPFields.namesEqual($0, field.name) })
            && HTTPFields.isValidName(field.name) && HTTPFields.isValidValue(field.value)
        {
            bytes.append(contentsOf: field.name.utf8)
            append(": ", to: &bytes)
            bytes.append(contentsOf: field.value.utf8)
            bytes.append(contentsOf: crlf)
        }
        // RFC 9110 §8.6: no Content-Length in 1xx or 204; in a 304 it would describe the
        // selected representation, which the response does not give us. For HEAD it is the
        // length a GET would have sent (§9.3.2), which is this body's.
        if allowsContent(status: status) {
            append("Content-Length: ", to: &bytes)
            appendDecimal(response.body.count, to: &bytes)
            bytes.append(contentsOf: crlf)
        }
        return bytes
    }

    /// The end of a head: `Date` (RFC 9110 §6.6.1: an origin server with a clock sends it),
    /// `Connection` as described for `head(for:close:keepAlive:date:)`, and the empty line.
    static func headTail(close: Bool, keepAlive: Bool, date: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        append("Date: ", to: &bytes)
        bytes.append(contentsOf: date)
        bytes.append(contentsOf: crlf)
        if close {
            append("Connection: close\r\n", to: &bytes)
        } else if keepAlive {
            append("Connection: keep-alive\r\n", to: &bytes)
        }
        bytes.append(contentsOf: crlf)
        return bytes
    }

    /// Whether the body bytes of `response` go on the wire after its head: not in answer to
    /// HEAD (RFC 9110 §9.3.2), and not for 1xx, 204 or 304.
    static func sendsBody(_ response: HTTPServerResponse, answeringHEAD: Bool) -> Bool {
        !answeringHEAD && !response.body.isEmpty
            && allowsContent(status: clampedStatus(response.status))
    }

    private static func append(_ text: StaticString, to bytes: inout [UInt8]) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        var digits = 1
        var limit = 10
        while value >= limit && digits < 19 {
            digits += 1
            limit = limit.multipliedReportingOverflow(by: 10).partialValue
        }
        HTTPServerDate.appendDigits(value, count: digits, to: &bytes)
    }
}
