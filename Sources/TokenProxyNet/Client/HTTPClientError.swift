/// Why an HTTP client exchange failed. Messages name the peer (`host:port`) or the proxy and
/// say what to check; they never contain bodies, header values or URL paths and queries (which
/// may carry credentials).
package enum HTTPClientError: Error, Sendable, CustomStringConvertible {
    /// The URL cannot be used; `reason` says why (no host, bad port, credentials in it).
    case invalidURL(reason: String)
    /// The URL's scheme is neither `http` nor `https`.
    case unsupportedScheme(String)
    /// The method is not an HTTP token (RFC 9110 §9.1).
    case invalidMethod
    /// A request header name or value would be invalid on the wire (RFC 9110 §5.1, §5.5).
    /// `name` is shown with unsafe characters replaced.
    case invalidHeader(name: String)
    /// The response body exceeded `maxResponseBodyBytes`.
    case responseTooLarge(peer: String, limit: Int)
    /// The peer's response broke HTTP/1.1 framing or syntax.
    case malformedResponse(peer: String, reason: String)
    /// The proxy answered CONNECT with a non-2xx status.
    case proxyRefused(proxy: String, status: Int)
    /// The proxy URL cannot be used (scheme other than http, no host).
    case unsupportedProxy(proxy: String, reason: String)
    /// A request body did not match the framing declared in the head (a caller bug).
    case bodyLengthMismatch(expected: Int, actual: Int)
    /// Connecting, TLS, reading or writing failed.
    case transport(NetError)
    /// `shutdown()` was called before or while the request ran.
    case shutDown

    package var description: String {
        switch self {
        case .invalidURL(let reason):
            return "invalid URL: \(reason)"
        case .unsupportedScheme(let scheme):
            return "unsupported URL scheme '\(Self.sanitized(scheme))': use http or https"
        case .invalidMethod:
            return "invalid HTTP method: must be a token such as GET or POST"
        case .invalidHeader(let name):
            return
                "invalid request header '\(Self.sanitized(name))': names must be tokens and values free of control characters (RFC 9110 §5)"
        case .responseTooLarge(let peer, let limit):
            return "response from \(peer) exceeds the limit of \(limit) bytes"
        case .malformedResponse(let peer, let reason):
            return "malformed HTTP response from \(peer): \(reason)"
        case .proxyRefused(let proxy, let status):
            return
                "proxy \(proxy) refused the CONNECT tunnel with status \(status): check the proxy's access rules and credentials"
        case .unsupportedProxy(let proxy, let reason):
            return "cannot use proxy \(proxy): \(reason)"
        case .bodyLengthMismatch(let expected, let actual):
            return "request body has \(actual) bytes but its head declared \(expected)"
        case .transport(let error):
            return error.description
        case .shutDown:
            return "the HTTP client has been shut down"
        }
    }

    /// `text` with anything but printable ASCII replaced by `?`, cut to 64 characters, so a
    /// bad name cannot inject lines into logs.
    static func sanitized(_ text: String) -> String {
        let safe = text.unicodeScalars.prefix(64).map { scalar -> Character in
            (0x21..<0x7F).contains(scalar.value) ? Character(scalar) : "?"
        }
        return String(safe)
    }
}
