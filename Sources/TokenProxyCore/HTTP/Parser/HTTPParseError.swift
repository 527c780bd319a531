/// Why the parser rejected a message. Each case knows the status a server answers with before
/// closing (`status`) and a short `reason` for that answer and for logs; neither ever contains
/// bytes from the message, so a hostile peer cannot inject text into our logs or responses.
///
/// After an error the parser stays failed: framing is lost, so the connection must be closed.
package enum HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Request line not `method SP request-target SP HTTP-version` (RFC 9112 §3).
    case invalidRequestLine
    /// Status line not `HTTP-version SP 3DIGIT SP [reason]` (RFC 9112 §4).
    case invalidStatusLine
    /// A well-formed version other than HTTP/1.0 or HTTP/1.1.
    case unsupportedVersion
    /// Request-target longer than `HTTPLimits.maxRequestTargetBytes`.
    case requestTargetTooLong
    /// Head longer than `HTTPLimits.maxHeadBytes`.
    case headTooLarge
    /// More field lines than `HTTPLimits.maxFieldCount`.
    case tooManyFields
    /// A CR not followed by LF, or an LF not preceded by CR (RFC 9112 §2.2: we require CRLF).
    case invalidLineEnding
    /// A field line starting with SP or HTAB (RFC 9112 §5.2).
    case obsoleteLineFolding
    /// Whitespace between a field name and its colon (RFC 9112 §5.1 requires a 400).
    case whitespaceBeforeColon
    /// A field line without a colon, or a name that is not a token (RFC 9110 §5.1).
    case invalidFieldName
    /// A field value with NUL, CR, LF or another control character (RFC 9110 §5.5).
    case invalidFieldValue
    /// Content-Length not a plain decimal number, or too big to represent.
    case invalidContentLength
    /// More than one Content-Length (requests), or differing values (responses).
    case multipleContentLength
    /// Both Content-Length and Transfer-Encoding (RFC 9112 §6.1: a smuggling vector).
    case contentLengthWithTransferEncoding
    /// A transfer coding other than `chunked` (RFC 9112 §6.1: 501 for requests).
    case unsupportedTransferEncoding
    /// `chunked` missing, repeated or not last, or Transfer-Encoding in an HTTP/1.0 request.
    case invalidTransferEncoding
    /// HTTP/1.1 request without Host (RFC 9112 §3.2).
    case missingHost
    /// More than one Host field, or a Host value that cannot be one authority (RFC 9112 §3.2).
    case invalidHost
    /// Chunk size not hex, too big, or a malformed chunk extension (RFC 9112 §7.1).
    case invalidChunkSize
    /// Chunk-size line longer than `HTTPLimits.maxChunkSizeLineBytes`.
    case chunkSizeLineTooLong
    /// Chunk data not followed by CRLF.
    case missingChunkTerminator
    /// Trailer section longer than `HTTPLimits.maxTrailerBytes`.
    case trailersTooLarge
    /// Body longer than `HTTPLimits.maxBodyBytes`.
    case bodyTooLarge
    /// The connection ended in the middle of a message.
    case unexpectedEnd

    /// The status a server answers with (RFC 9110 §15) before closing the connection.
    package var status: Int {
        switch self {
        case .unsupportedVersion: 505
        case .requestTargetTooLong: 414
        case .headTooLarge, .tooManyFields, .trailersTooLarge: 431
        case .bodyTooLarge: 413
        case .unsupportedTransferEncoding: 501
        default: 400
        }
    }

    /// A short human-readable reason, safe to send back and to log.
    package var reason: String {
        switch self {
        case .invalidRequestLine: "malformed request line"
        case .invalidStatusLine: "malformed status line"
        case .unsupportedVersion: "HTTP version not supported (only HTTP/1.0 and HTTP/1.1)"
        case .requestTargetTooLong: "request target too long"
        case .headTooLarge: "header section too large"
        case .tooManyFields: "too many header fields"
        case .invalidLineEnding: "bare CR or LF in header section (CRLF required)"
        case .obsoleteLineFolding: "obsolete line folding in header section"
        case .whitespaceBeforeColon: "whitespace between header field name and colon"
        case .invalidFieldName: "invalid header field name"
        case .invalidFieldValue: "invalid character in header field value"
        case .invalidContentLength: "invalid Content-Length"
        case .multipleContentLength: "multiple Content-Length values"
        case .contentLengthWithTransferEncoding: "both Content-Length and Transfer-Encoding"
        case .unsupportedTransferEncoding: "unsupported transfer coding (only chunked)"
        case .invalidTransferEncoding: "invalid Transfer-Encoding"
        case .missingHost: "missing Host header"
        case .invalidHost: "duplicate or invalid Host header"
        case .invalidChunkSize: "invalid chunk size"
        case .chunkSizeLineTooLong: "chunk size line too long"
        case .missingChunkTerminator: "chunk data not followed by CRLF"
        case .trailersTooLarge: "trailer section too large"
        case .bodyTooLarge: "body too large"
        case .unexpectedEnd: "connection closed in the middle of a message"
        }
    }

    package var description: String { "\(status) \(reason)" }
}
