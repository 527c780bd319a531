import TokenProxyCore

/// Turns a decided response (`ServerConnection.StateMachine.Output`) into the bytes of its head.
///
/// The server owns framing: it writes `Content-Length`, `Date` and `Connection` itself and
/// drops any `Content-Length`, `Transfer-Encoding`, `Connection` or `Date` the handler set, so a
/// handler can never make the head disagree with the body it sends. Handler fields were
/// validated by the state machine (no CR, LF or NUL can reach the wire).
enum HTTPServerResponseEncoder {
    private static let crlf: [UInt8] = [0x0D, 0x0A]
    private static let serverOwnedFields = [
        "Content-Length", "Transfer-Encoding", "Connection", "Date",
    ]

    /// The head of `output`, with `date` as the Date field value.
    static func head(for output: ServerConnection.StateMachine.Output, date: [UInt8]) -> [UInt8] {
        let response = output.response
        let status = (100...999).contains(response.status) ? response.status : 500
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + response.headers.count * 48)
        append("HTTP/1.1 ", to: &bytes)
        HTTPServerDate.appendDigits(status, count: 3, to: &bytes)
        bytes.append(0x20)
        bytes.append(contentsOf: HTTPResponseHead.standardReason(for: status).utf8)
        bytes.append(contentsOf: crlf)
        for field in response.headers
        where !serverOwnedFields.contains(where: { HTTPFields.namesEqual($0, field.name) }) {
            bytes.append(contentsOf: field.name.utf8)
            append(": ", to: &bytes)
            bytes.append(contentsOf: field.value.utf8)
            bytes.append(contentsOf: crlf)
        }
        // RFC 9110 §8.6: no Content-Length in 1xx or 204; in a 304 it would describe the
        // selected representation, which the handler did not give us.
        if !(100..<200).contains(status) && status != 204 && status != 304 {
            append("Content-Length: ", to: &bytes)
            appendDecimal(response.body.count, to: &bytes)
            bytes.append(contentsOf: crlf)
        }
        append("Date: ", to: &bytes)
        bytes.append(contentsOf: date)
        bytes.append(contentsOf: crlf)
        if response.closeConnection {
            append("Connection: close\r\n", to: &bytes)
        } else if output.keepAliveHeader {
            append("Connection: keep-alive\r\n", to: &bytes)
        }
        bytes.append(contentsOf: crlf)
        return bytes
    }

    /// Whether the body bytes of `output` go on the wire (not for HEAD, 1xx, 204 or 304).
    static func sendsBody(_ output: ServerConnection.StateMachine.Output) -> Bool {
        let status = output.response.status
        return output.includeBody && !output.response.body.isEmpty && status >= 200
            && status != 204 && status != 304
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
