/// The request line and header fields of an HTTP/1.1 request (RFC 9112 §3).
package struct HTTPRequestHead: Sendable, Equatable {
    /// The method token, case-sensitive (RFC 9110 §9.1): `GET` and `get` differ.
    package var method: String
    /// The request-target exactly as sent: origin-form (`/v1/tokens?x=1`), absolute-form
    /// (`http://host/path`, toward proxies), authority-form (`host:443`, CONNECT) or `*`.
    package var target: String
    package var version: HTTPVersion
    package var fields: HTTPFields

    package init(
        method: String, target: String, version: HTTPVersion = .http1_1, fields: HTTPFields = [:]
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields
    }

    /// Whether the connection may carry another request after this one (RFC 9112 §9.3).
    package var keepAlive: Bool { version.keepsAlive(with: fields) }

    /// Whether the method is idempotent (RFC 9110 §9.2.2), so a request that may or may not have
    /// reached the server can be sent again.
    package var isIdempotent: Bool {
        Self.idempotentMethods.contains(method)
    }

    private static let idempotentMethods: Set<String> = [
        "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE",
    ]
}
