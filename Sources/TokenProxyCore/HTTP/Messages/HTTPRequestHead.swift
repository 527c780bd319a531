/// The request line and header fields of an HTTP/1.1 request (RFC 9112 §3).
///
/// A value type whose parts live in one shared, copy-on-write box: a head is handed from the
/// parser through the connection's state machine to the handler, and each hand-over copies
/// it, which for four separate fields cost a retain and a release per field and a generic
/// value-witness call for every enum case carrying it — measured, about a tenth of a token
/// request. Now a copy is one retain; the first mutation of a shared head copies the box.
///
/// `public` type with `package` members, as `HTTPFields`: the `@inlinable` accessors of a
/// `package` type are not inlined into other modules (Swift 6.3), and every module of the
/// proxy reads them per request.
public struct HTTPRequestHead: Sendable, Equatable {
    /// The parts; never mutated while shared (see `unique()`). Their accesses are not
    /// checked for exclusivity at run time: a box is only written while its one owner holds
    /// it, and the checks cost more than the rest of a head copy (measured: ~1,100
    /// instructions per token request).
    @usableFromInline
    final class Storage: @unchecked Sendable {
        @usableFromInline @exclusivity(unchecked) var method: String
        @usableFromInline @exclusivity(unchecked) var target: String
        @usableFromInline @exclusivity(unchecked) var version: HTTPVersion
        @usableFromInline @exclusivity(unchecked) var fields: HTTPFields

        @usableFromInline
        init(method: String, target: String, version: HTTPVersion, fields: HTTPFields) {
            self.method = method
            self.target = target
            self.version = version
            self.fields = fields
        }

        @usableFromInline
        func copy() -> Storage {
            Storage(method: method, target: target, version: version, fields: fields)
        }
    }

    @usableFromInline var storage: Storage

    package init(
        method: String, target: String, version: HTTPVersion = .http1_1, fields: HTTPFields = [:]
    ) {
        storage = Storage(method: method, target: target, version: version, fields: fields)
    }

    /// A head on `storage` as it is (the parser's recycled box).
    init(storage: Storage) {
        self.storage = storage
    }

    /// The method token, case-sensitive (RFC 9110 §9.1): `GET` and `get` differ.
    @inlinable
    package var method: String {
        _read { yield storage.method }
        set {
            unique()
            storage.method = newValue
        }
    }

    /// The request-target exactly as sent: origin-form (`/v1/tokens?x=1`), absolute-form
    /// (`http://host/path`, toward proxies), authority-form (`host:443`, CONNECT) or `*`.
    @inlinable
    package var target: String {
        _read { yield storage.target }
        set {
            unique()
            storage.target = newValue
        }
    }

    @inlinable
    package var version: HTTPVersion {
        get { storage.version }
        set {
            unique()
            storage.version = newValue
        }
    }

    /// Read with `_read`, like `method` and `target`: a caller borrows the value from the box
    /// instead of getting a copy (a retain and release per access on the token API's path).
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

    public static func == (lhs: HTTPRequestHead, rhs: HTTPRequestHead) -> Bool {
        if lhs.storage === rhs.storage { return true }
        return lhs.method == rhs.method && lhs.target == rhs.target
            && lhs.version == rhs.version && lhs.fields == rhs.fields
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
