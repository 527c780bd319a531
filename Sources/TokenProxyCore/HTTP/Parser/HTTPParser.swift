/// A strict, incremental HTTP/1.1 message parser (RFC 9112) for requests or responses.
///
/// Feed bytes as they arrive, split anywhere (one byte at a time is fine), then call `next()`
/// until it returns nil ("need more bytes"). Pipelined messages are parsed one after another.
/// Work is linear in the input: each byte is scanned once for a line end and parsed once.
/// Limits (`HTTPLimits`) are enforced while bytes arrive, so a peer sending an endless header
/// line fails as soon as it passes the limit.
///
/// On the first error the parser fails for good (framing is lost) and `next()` keeps throwing
/// that error; the caller answers `error.status` (servers) and closes the connection.
///
/// ```swift
/// var parser = HTTPParser(mode: .request)
/// parser.feed(bytesFromSocket)
/// while let event = try parser.next() { ... }
/// ```
package struct HTTPParser: Sendable {
    /// Which kind of message to expect.
    package enum Mode: Sendable, Equatable {
        case request
        /// Responses; call `expectResponse(toMethod:)` for each request sent, since the method
        /// decides the framing (a response to HEAD has no body, one to CONNECT opens a tunnel).
        case response
    }

    enum State: Sendable, Equatable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case messageEnd
        case tunnel
        case closed
    }

    /// The head being assembled; kept outside `State` so appending a field does not copy it.
    ///
    /// The start line's parts are plain stored properties, not optional tuples: the head's
    /// box takes the Strings by `swap` (`takeRequestHead`), so they move instead of being
    /// copied (a retain each) and destroyed with the partial head (a release each), and a
    /// request-target with the bytes of the recycled box's target is not made at all
    /// (`reusesTarget`). Between heads the Strings are empty (no reference to release).
    struct PartialHead: Sendable {
        var bytes = 0
        /// Request mode: the method (a literal for the common ones, see `methodString`).
        var method = ""
        /// Request mode: the request-target, unless `reusesTarget`.
        var target = ""
        /// Request mode: the request-target has the bytes of the recycled box's target
        /// (`recycledRequest`, the last head's), so `target` was not made: the box keeps its
        /// String (a client on a kept-alive connection usually asks for the same one again).
        var reusesTarget = false
        var version: HTTPVersion = .http1_1
        /// Response mode: the status code and the reason phrase.
        var status = 0
        var reason = ""
        /// Whether the start line was read: tested before every line.
        var hasStartLine = false
        /// The framing fields seen so far, noted while each line's bytes are at hand, so the
        /// checks after the empty line look up none of them by name (see `FramingFields`).
        var framing = FramingFields()
    }

    package let mode: Mode
    package let limits: HTTPLimits

    var buffer: [UInt8] = []
    /// First byte not yet consumed.
    var readIndex = 0
    /// Where the search for the next LF resumes, so no byte is scanned twice.
    var lineScanIndex = 0
    var state: State = .head
    var partial = PartialHead()
    /// The head's field lines seen so far, as places in `buffer` (`HTTPParser+Fields`); the
    /// array keeps its capacity from head to head.
    var fieldSpans: [FieldSpan] = []
    /// How many of `fieldSpans` belong to the head being parsed.
    var fieldCount = 0
    /// Where the head's first field line starts in `buffer`; compaction keeps the bytes from
    /// here on while `fieldCount` is not 0.
    var headStart = 0
    /// The name and value bytes of `fieldSpans`, in all.
    var headFieldBytes = 0
    /// The facts (`HTTPFields.Facts`) of `fieldSpans`.
    var headFacts: HTTPFields.Facts = []
    /// The last request head's box, filled again for the next head once nothing else holds
    /// it (request mode), so a kept-alive connection's heads allocate nothing.
    var recycledRequest: HTTPRequestHead.Storage?
    /// The last response head's box, filled again for the next head once nothing else holds
    /// it (response mode).
    var recycledResponse: HTTPResponseHead.Storage?
    /// Response mode: the consumer gives each response head back when it is done with it
    /// (`recycle(_:)`, called once at least), so the parser keeps no reference of its own to
    /// the head it hands out (see `recycle`).
    var responseHeadsComeBack = false
    var trailerFields = HTTPFields()
    var trailerBytes = 0
    var chunkedBodyBytes = 0
    /// The methods of requests sent whose responses have not begun, in
    /// `pendingMethods[pendingStart..<pendingEnd]`. Slots are overwritten, never removed (an
    /// `Array.removeFirst` was a generic `replaceSubrange`, ~150 instructions per response).
    var pendingMethods: [String] = []
    var pendingStart = 0
    var pendingEnd = 0
    var endOfStream = false
    var tunnelAfterMessage = false
    var failure: HTTPParseError?

    package init(mode: Mode, limits: HTTPLimits = HTTPLimits()) {
        self.mode = mode
        self.limits = limits
    }

    /// Appends bytes received from the peer.
    package mutating func feed(_ bytes: some Sequence<UInt8>) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes received from the peer, straight from a read buffer: one copy, without
    /// the generic `Sequence` path (which is not specialized across modules).
    package mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if readIndex > 0 && readIndex == buffer.count && fieldCount == 0
            && buffer.capacity <= Limits.HTTP.retainedBufferBytes
        {
            // Everything before was consumed (the usual case between requests): the old bytes
            // are replaced in one call, not removed and then appended to (two, ~80
            // instructions each).
            buffer.replaceSubrange(0..<buffer.count, with: bytes.bindMemory(to: UInt8.self))
            readIndex = 0
            lineScanIndex = 0
            return
        }
        compactIfWorthIt()
        buffer.append(contentsOf: bytes.bindMemory(to: UInt8.self))
    }

    /// Records that the peer closed its side. Later `next()` calls finish a body delimited by
    /// the close, return nil after a complete message, or throw `.unexpectedEnd` mid-message.
    package mutating func feedEndOfStream() {
        endOfStream = true
    }

    /// Registers that a request with `method` was sent, so the matching response is framed
    /// correctly (RFC 9112 §6.3). Call once per request, in sending order.
    package mutating func expectResponse(toMethod method: String) {
        if pendingEnd < pendingMethods.count {
            pendingMethods[pendingEnd] = method
        } else {
            pendingMethods.append(method)
        }
        pendingEnd += 1
    }

    /// Gives a response head back once its consumer is done with it (the proxy, after
    /// relaying it), for the next response to be parsed into its box. From the first call on,
    /// the parser keeps no reference to the heads it hands out: keeping one was a retain per
    /// response, and the consumer's drop of its copy an atomic release, where a head given
    /// back moves in. A head not given back (an interim one, an error path) only costs the
    /// next head a new box; a box still held elsewhere is never refilled (its uniqueness is
    /// checked first, as for a kept one).
    package mutating func recycle(_ head: consuming HTTPResponseHead) {
        responseHeadsComeBack = true
        recycledResponse = head.storage
    }

    /// True once a CONNECT 2xx or a 101 response ended HTTP on this connection; the bytes that
    /// followed it belong to the tunnel (see `takeRemainingBytes()`).
    package var isTunnel: Bool { state == .tunnel }

    /// Whether the parser is between messages with nothing buffered: a clean place to close.
    package var isIdle: Bool {
        state == .head && partial.bytes == 0 && readIndex == buffer.count
    }

    /// Hands over the bytes fed but not parsed (after a tunnel was established) and empties
    /// the buffer.
    package mutating func takeRemainingBytes() -> [UInt8] {
        let rest = Array(buffer[readIndex...])
        buffer.removeAll()
        readIndex = 0
        lineScanIndex = 0
        return rest
    }

    /// The next event, or nil when more bytes (or `feedEndOfStream()`) are needed.
    package mutating func next() throws(HTTPParseError) -> HTTPParserEvent? {
        if let failure { throw failure }
        // Nothing buffered between messages (a server asks again after each response): the
        // answer is nil without looking for a line (~330 instructions per token request).
        if state == .head && readIndex == buffer.count && !endOfStream {
            releaseConsumedIfLarge()
            return nil
        }
        do {
            // Unwrapped and returned, not compared with nil and returned: the event moves out
            // instead of being copied and destroyed (an outlined, generic copy per event).
            guard let event = try step() else {
                if readIndex == buffer.count { releaseConsumedIfLarge() }
                return nil
            }
            return event
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func step() throws(HTTPParseError) -> HTTPParserEvent? {
        while true {
            switch state {
            case .head:
                guard let event = try parseHead() else {
                    if endOfStream && !(partial.bytes == 0 && readIndex == buffer.count) {
                        throw .unexpectedEnd
                    }
                    return nil
                }
                // Interim responses loop back to `.head`; hand them out anyway.
                return event
            case .fixedBody(let remaining):
                guard let slice = takeBody(upTo: remaining) else {
                    if endOfStream { throw .unexpectedEnd }
                    return nil
                }
                state =
                    remaining == slice.count
                    ? .messageEnd : .fixedBody(remaining: remaining - slice.count)
                return .body(slice)
            case .chunkSize:
                guard try parseChunkSize() else { return try needMoreInBody() }
            case .chunkData(let remaining):
                guard let slice = takeBody(upTo: remaining) else { return try needMoreInBody() }
                state =
                    remaining == slice.count
                    ? .chunkDataEnd : .chunkData(remaining: remaining - slice.count)
                return .body(slice)
            case .chunkDataEnd:
                guard try parseChunkDataEnd() else { return try needMoreInBody() }
            case .trailers:
                guard try parseTrailerLine() else { return try needMoreInBody() }
            case .untilClose:
                if let slice = takeBody(upTo: Int.max) {
                    return .body(slice)
                }
                guard endOfStream else { return nil }
                state = .closed
                return .end(trailers: HTTPFields())
            case .messageEnd:
                // Moved out, not copied: the copy was a retain, and the reset a release.
                var trailers = HTTPFields()
                swap(&trailers, &trailerFields)
                resetForNextMessage()
                if tunnelAfterMessage { state = .tunnel }
                return .end(trailers: trailers)
            case .tunnel, .closed:
                return nil
            }
        }
    }

    private func needMoreInBody() throws(HTTPParseError) -> HTTPParserEvent? {
        if endOfStream { throw .unexpectedEnd }
        return nil
    }

    /// Takes up to `limit` buffered bytes as a slice, or nil when none are buffered.
    private mutating func takeBody(upTo limit: Int) -> ArraySlice<UInt8>? {
        let available = buffer.count - readIndex
        guard available > 0, limit > 0 else { return nil }
        let count = min(available, limit)
        let slice = buffer[readIndex..<readIndex + count]
        readIndex += count
        lineScanIndex = readIndex
        return slice
    }

    /// What framing a request's method asks of its response (RFC 9112 §6.3).
    enum PendingMethod {
        case head
        case connect
        case other
    }

    /// The kind of method of the oldest request whose response has not begun
    /// (`expectResponse`), `other` (as for `GET`) when none was registered. Compared in
    /// place: the method's String is neither copied out of the array nor released.
    mutating func takePendingMethod() -> PendingMethod {
        guard pendingStart < pendingEnd else { return .other }
        let method: PendingMethod =
            pendingMethods[pendingStart] == "HEAD"
            ? .head : pendingMethods[pendingStart] == "CONNECT" ? .connect : .other
        pendingStart += 1
        if pendingStart == pendingEnd {
            pendingStart = 0
            pendingEnd = 0
        }
        return method
    }

    private mutating func resetForNextMessage() {
        state = .head
        resetPartialHead()
        trailerFields = HTTPFields()
        trailerBytes = 0
        chunkedBodyBytes = 0
    }

    /// Starts the next head. The partial head's Strings are assigned empty ones one by one
    /// rather than the whole struct replaced, which destroyed it through an outlined value
    /// witness; after `completeHead` they hold the previous box's Strings (moved out by
    /// `swap`) or empty ones.
    @inline(__always)
    mutating func resetPartialHead() {
        partial.bytes = 0
        partial.method = ""
        partial.target = ""
        partial.reusesTarget = false
        partial.reason = ""
        partial.hasStartLine = false
        partial.framing = FramingFields()
    }

    /// Drops consumed bytes once they are at least half the buffer, so compaction costs are
    /// amortized linear and memory stays bounded by what is unconsumed. A buffer emptied
    /// completely keeps its capacity only while it is small: an idle keep-alive connection then
    /// holds a few hundred bytes, not the largest message it ever received, and the common
    /// small request reuses its buffer instead of allocating a new one.
    /// Everything consumed and waiting for more: a buffer larger than an ordinary head is
    /// freed now, so that an idle connection does not hold its last large message until the
    /// next bytes arrive; a small one stays as it is until the next `feed` replaces its bytes.
    @inline(__always)
    private mutating func releaseConsumedIfLarge() {
        if buffer.capacity > Limits.HTTP.retainedBufferBytes { compactIfWorthIt() }
    }

    /// The field lines of a head not yet complete are not consumed in this sense: their bytes
    /// stay until the head's fields are copied (`HTTPParser+Fields`), at most `maxHeadBytes`.
    private mutating func compactIfWorthIt() {
        let drop = fieldCount == 0 ? readIndex : min(readIndex, headStart)
        guard drop > 0 else { return }
        if drop == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= Limits.HTTP.retainedBufferBytes)
        } else if drop >= buffer.count / 2 {
            buffer.removeSubrange(0..<drop)
        } else {
            return
        }
        lineScanIndex -= drop
        readIndex -= drop
        headStart -= drop
    }
}
