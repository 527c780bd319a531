/// The status line and header fields of an HTTP/1.1 response (RFC 9112 §4).
package struct HTTPResponseHead: Sendable, Equatable {
    package var version: HTTPVersion
    /// Three-digit status code (RFC 9110 §15).
    package var status: Int
    /// The reason phrase; informational only, never used for decisions (RFC 9112 §4).
    package var reason: String
    package var fields: HTTPFields

    /// A response head; `reason` defaults to the standard phrase for `status`.
    package init(
        version: HTTPVersion = .http1_1, status: Int, reason: String? = nil,
        fields: HTTPFields = [:]
    ) {
        self.version = version
        self.status = status
        self.reason = reason ?? Self.standardReason(for: status)
        self.fields = fields
    }

    /// Whether the connection may carry another exchange after this response (RFC 9112 §9.3).
    /// The body framing may still force a close (a body delimited by closing the connection).
    package var keepAlive: Bool { version.keepsAlive(with: fields) }

    /// Whether this is an interim (1xx) response that a final response will follow.
    package var isInformational: Bool { (100..<200).contains(status) }

    /// The RFC 9110 §15 reason phrase for the codes we produce or commonly meet; empty
    /// otherwise (an empty reason phrase is valid).
    package static func standardReason(for status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: ""
        }
    }
}
