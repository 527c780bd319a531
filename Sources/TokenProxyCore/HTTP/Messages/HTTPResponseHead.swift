/// The status line and header fields of an HTTP/1.1 response (RFC 9112 §4).
///
/// A value type whose parts live in one shared, copy-on-write box, as `HTTPRequestHead`: the
/// parser's events carry it, and an event holding four inline parts (two of them references)
/// was destroyed through an outlined, generic value witness at each hand-over in the proxy.
/// A copy is one retain; the first mutation of a shared head copies the box. The parser fills
/// the last response's box again once nothing else holds it (`HTTPParser+Fields`).
///
/// `public` type with `package` members, as `HTTPFields`: the `@inlinable` accessors of a
/// `package` type are not inlined into other modules (Swift 6.3), and every module of the
/// proxy reads them per request.
public struct HTTPResponseHead: Sendable, Equatable {
    /// The parts; never mutated while shared (see `unique()`). Unchecked exclusivity, as in
    /// `HTTPRequestHead.Storage`: a box is only written while its one owner holds it.
    @usableFromInline
    final class Storage: @unchecked Sendable {
        @usableFromInline @exclusivity(unchecked) var version: HTTPVersion
        @usableFromInline @exclusivity(unchecked) var status: Int
        @usableFromInline @exclusivity(unchecked) var reason: String
        @usableFromInline @exclusivity(unchecked) var fields: HTTPFields

        @usableFromInline
        init(version: HTTPVersion, status: Int, reason: String, fields: HTTPFields) {
            self.version = version
            self.status = status
            self.reason = reason
            self.fields = fields
        }

        @usableFromInline
        func copy() -> Storage {
            Storage(version: version, status: status, reason: reason, fields: fields)
        }
    }

    @usableFromInline var storage: Storage

    /// A response head; `reason` defaults to the standard phrase for `status`.
    package init(
        version: HTTPVersion = .http1_1, status: Int, reason: String? = nil,
        fields: HTTPFields = [:]
    ) {
        storage = Storage(
            version: version, status: status, reason: reason ?? Self.standardReason(for: status),
            fields: fields)
    }

    /// A head on `storage` as it is (the parser's recycled box).
    init(storage: Storage) {
        self.storage = storage
    }

    @inlinable
    package var version: HTTPVersion {
        get { storage.version }
        set {
            unique()
            storage.version = newValue
        }
    }

    /// Three-digit status code (RFC 9110 §15).
    @inlinable
    package var status: Int {
        get { storage.status }
        set {
            unique()
            storage.status = newValue
        }
    }

    /// The reason phrase; informational only, never used for decisions (RFC 9112 §4).
    @inlinable
    package var reason: String {
        _read { yield storage.reason }
        set {
            unique()
            storage.reason = newValue
        }
    }

    @inlinable
    package var fields: HTTPFields {
        _read { yield storage.fields }
        _modify {
            unique()
            yield &storage.fields
        }
        set {
            unique()
            storage.fields = newValue
        }
    }

    /// Gives this head a box of its own before it changes, so no other copy sees the change.
    @inlinable
    mutating func unique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    public static func == (lhs: HTTPResponseHead, rhs: HTTPResponseHead) -> Bool {
        if lhs.storage === rhs.storage { return true }
        return lhs.version == rhs.version && lhs.status == rhs.status
            && lhs.reason == rhs.reason && lhs.fields == rhs.fields
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
