import TokenProxyCore

/// Who is on the other end of a server connection. For Unix sockets the kernel vouches for the
/// peer's pid/uid/gid (SO_PEERCRED), which is what the token API's access control uses.
package enum PeerIdentity: Sendable, Equatable, CustomStringConvertible {
    /// A Unix-socket peer, with credentials taken at accept time.
    case unix(pid: Int32, uid: UInt32, gid: UInt32)
    /// A TCP peer (`address` without brackets).
    case tcp(address: String, port: Int)

    package var description: String {
        switch self {
        case .unix(let pid, let uid, let gid): return "pid=\(pid) uid=\(uid) gid=\(gid)"
        case .tcp(let address, let port):
            return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
    }
}

/// One complete request as the server hands it to a handler. Bodies are buffered up to the
/// server's body limit (the token API's requests are tiny; the proxy uses its own path).
package struct HTTPServerRequest: Sendable {
    package var head: HTTPRequestHead
    package var body: [UInt8]
    package var peer: PeerIdentity
    /// The name of the listener that accepted the connection (`unix`, `tcp`, or the systemd
    /// `FileDescriptorName=`), so a handler can apply per-listener rules.
    package var listener: String
    /// When the request arrived, in `ContinuousTime` nanoseconds (the continuous clock's): the
    /// server passes its loop's time of the wake-up that read the request, so a handler that
    /// needs "now" (a token's remaining validity) reads no clock of its own. Behind the true
    /// time by at most what the loop has spent since it woke (microseconds, bounded by one
    /// batch of events); `ContinuousTime.instant(_:)` makes it a `ContinuousClock.Instant`.
    package var receivedAt: UInt64

    /// A request received at `receivedAt` (nil: now, read from the clock).
    package init(
        head: HTTPRequestHead, body: [UInt8], peer: PeerIdentity, listener: String,
        receivedAt: UInt64? = nil
    ) {
        self.head = head
        self.body = body
        self.peer = peer
        self.listener = listener
        self.receivedAt = receivedAt ?? ContinuousTime.now()
    }
}

/// A response to write. The server adds `Content-Length`, `Date` and `Connection` itself;
/// `closeConnection` asks it to close after writing.
///
/// A value with its fields in one shared box (`HTTPServerResponse+Storage.swift`), copied on
/// write: a cached response (a token's answer) passes through the handler, the state machine
/// and the connection by value, and each copy costs one retain instead of one per field
/// (headers, body, encoded head).
package struct HTTPServerResponse: Sendable {
    /// Read by `withWireParts` (`HTTPServerResponse+Storage.swift`), in place.
    var storage: Storage

    package var status: Int {
        get { storage.status }
        set { changing().status = newValue }
    }
    package var headers: HTTPFields {
        _read { yield storage.headers }
        _modify { yield &changing().headers }
    }
    package var body: [UInt8] {
        _read { yield storage.body }
        _modify { yield &changing().body }
    }
    package var closeConnection: Bool {
        get { storage.closeConnection }
        set {
            // The common case (a kept-alive cached answer) sets what is there: no copy.
            guard newValue != storage.closeConnection else { return }
            unique().closeConnection = newValue
        }
    }
    /// The head up to `Date`, serialized in advance (see `preEncoded()`); nil: built when sent.
    /// Changing `status`, `headers` or `body` drops it (`preEncoded()` makes it again).
    package var encodedHead: [UInt8]? {
        _read { yield storage.encodedHead }
    }
    /// Whether `headers` ask to close (`Connection: close`), worked out with `encodedHead`.
    var encodedAsksClose: Bool { storage.encodedAsksClose }

    package init(
        status: Int, headers: HTTPFields = [:], body: [UInt8] = [], closeConnection: Bool = false
    ) {
        storage = Storage(
            status: status, headers: headers, body: body, closeConnection: closeConnection)
    }

    /// This response with its head serialized now (all but `Date`, `Connection` and the empty
    /// line, which the server adds when sending), for a response sent many times unchanged —
    /// a cached token — so that sending it copies no header and formats no number.
    ///
    /// The checks the server makes on every response are made here, once: a response with a
    /// field that cannot go on the wire is returned as is, not encoded, so that the server still
    /// replaces it with a 500 when it is sent.
    package func preEncoded() -> HTTPServerResponse {
        var response = self
        let box = response.unique()
        box.encodedHead = nil
        box.encodedAsksClose = false
        guard headers.firstInvalidField() == nil else { return response }
        box.encodedAsksClose = headers.listContains("Connection", token: "close")
        box.encodedHead = HTTPServerResponseEncoder.headPrefix(for: response)
        return response
    }

    /// The box, copied first if another value shares it.
    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    /// `unique()` for a change of what the pre-encoded head says (status, fields, body): the
    /// head is dropped rather than sent out of date.
    private mutating func changing() -> Storage {
        let box = unique()
        box.encodedHead = nil
        return box
    }
}

/// Answers requests. `respond` must be called exactly once, either before `handle` returns
/// (the fast path: no task hop, which is what lets the token API keep up with nginx) or later
/// from any thread (when the answer needs an `await`, e.g. waiting for a token fetch).
package protocol HTTPServerHandler: Sendable {
    func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void)

    /// The answer to `request` when the handler has it at once, or nil to go through
    /// `handle(_:respond:)` (which must then answer the same request as if this had not been
    /// called). Called first for every request, on the connection's loop thread.
    ///
    /// Why a second entry point: answering through `respond` costs a closure allocated per
    /// request and a lock taken three times to learn whether it ran before `handle` returned
    /// (measured ~500 instructions of a cached token's ~14,500).
    ///
    /// `connectionState` is the handler's own memory of this connection: nil on its first
    /// request, then whatever the handler stored, kept until the connection closes. It is
    /// touched only here, on the loop's thread, so it needs no lock: a handler keeps in it
    /// what cannot change while the connection lives (the peer's access decision, the
    /// snapshot it read last and that snapshot's generation). Never hand it to another thread.
    func respondNow(
        to request: HTTPServerRequest, connectionState: inout AnyObject?
    ) -> HTTPServerResponse?
}

extension HTTPServerHandler {
    /// Every request goes through `handle(_:respond:)`.
    package func respondNow(
        to request: HTTPServerRequest, connectionState: inout AnyObject?
    ) -> HTTPServerResponse? { nil }
}
