import TokenProxyCore

/// Bytes queued for one socket of a proxied exchange (the client's, or the upstream's) that it
/// has not taken yet, and the backpressure rule built on them: while more than `bound` bytes
/// wait here, the proxy stops reading from the side that produces them, so a fast sender and
/// a slow reader cost at most about `bound` plus one read of memory, whatever the body size.
///
/// Pure: no sockets. The connection appends, tries to send `unsent`, and reports what the
/// socket took with `consumed`.
///
/// The storage is an array whose whole length is usable memory: the queued bytes are
/// `offset..<end`, and what follows `end` is room written through a pointer (`memcpy`, or a
/// head by `HeadWriter` in place). Its `count` never moves for an append or a send, so neither
/// costs an `Array` resize: growing by a copy of zeros and cutting back what a head did not
/// use, then `removeAll(keepingCapacity:)` per send, were ~550 instructions per proxied
/// request (callgrind).
struct ProxyOutputQueue: Sendable, Equatable {
    /// Above this many queued bytes the producing side is not read.
    let bound: Int
    private var storage: [UInt8] = []
    private var offset = 0
    private var end = 0
    /// The most bytes queued at once (for `ProxyEngine.peakBufferedBodyBytes`).
    private(set) var peak = 0

    init(bound: Int = Limits.Proxy.pendingOutputBytes) {
        self.bound = bound
    }

    /// The bytes waiting to be sent.
    var bytes: ArraySlice<UInt8> { storage[offset..<end] }
    /// Bytes waiting to be sent.
    var count: Int { end - offset }
    var isEmpty: Bool { offset == end }
    /// Whether the producing side may be read: the queue is at or below its bound.
    var acceptsMore: Bool { count <= bound }
    /// The memory the queue holds, queued bytes and room together.
    var storageBytes: Int { storage.count }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.bound == rhs.bound && lhs.peak == rhs.peak && lhs.bytes == rhs.bytes
    }

    mutating func append(_ more: some Collection<UInt8>) {
        let added = more.count
        guard added > 0 else { return }
        makeRoom(added)
        let start = end
        storage.withUnsafeMutableBufferPointer { buffer in
            let room = UnsafeMutableBufferPointer(rebasing: buffer[start..<start + added])
            let copied: Void? = more.withContiguousStorageIfAvailable { source in
                room.baseAddress!.update(from: source.baseAddress!, count: added)
            }
            // UInt8 is trivial: writing over the room's old bytes needs no deinitialization.
            if copied == nil { _ = room.update(fromContentsOf: more) }
        }
        end += added
        peak = max(peak, count)
    }

    /// Appends a head that `body` writes in place (at most `capacity` bytes): no array of
    /// its own, no copy.
    mutating func appendHead(capacity: Int, _ body: (inout HeadWriter) -> Void) {
        makeRoom(max(capacity, 1))
        let start = end
        let written = storage.withUnsafeMutableBufferPointer { buffer in
            HeadWriter.write(
                into: UnsafeMutableBufferPointer(
                    rebasing: buffer[start..<start + max(capacity, 1)]),
                body)
        }
        end += written
        peak = max(peak, count)
    }

    /// Appends `piece` as one chunk (RFC 9112 §7.1: hex size, CRLF, data, CRLF), without an
    /// intermediate array.
    mutating func appendChunk(_ piece: some Collection<UInt8>) {
        guard !piece.isEmpty else { return }
        let size = piece.count
        var digits = 1
        while size >> (4 * digits) > 0 { digits += 1 }
        appendHead(capacity: digits + 2) { out in
            for position in stride(from: digits - 1, through: 0, by: -1) {
                let digit = UInt8((size >> (4 * position)) & 0xF)
                out.byte(digit < 10 ? 0x30 + digit : 0x61 + digit - 10)
            }
            out.crlf()
        }
        append(piece)
        appendHead(capacity: 2) { $0.crlf() }
    }

    /// Calls `body` with the unsent bytes (non-empty) and drops as many as it returns.
    mutating func send(_ body: (UnsafeRawBufferPointer) -> Int) {
        guard !isEmpty else { return }
        let range = offset..<end
        let taken = storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        consumed(taken)
    }

    /// The socket took `count` more bytes.
    mutating func consumed(_ count: Int) {
        precondition(count >= 0 && count <= self.count, "consumed more than was queued")
        offset += count
        if offset == end {
            // Keep a small buffer for the next response; give a large one back, so that an
            // idle keep-alive connection holds no relay-sized buffer.
            if storage.count > Limits.Proxy.retainedOutputBytes { storage = [] }
            offset = 0
            end = 0
        }
    }

    /// Forgets everything queued (the socket is gone).
    mutating func removeAll() {
        storage = []
        offset = 0
        end = 0
    }

    /// Makes room for `added` bytes after `end`: the queue starts over when all was sent, the
    /// queued bytes move to the front when that makes room, else the storage grows (at least
    /// doubling, so a long body costs a few copies, not one per append).
    private mutating func makeRoom(_ added: Int) {
        if offset == end {
            offset = 0
            end = 0
        }
        guard storage.count - end < added else { return }
        let queued = end - offset
        if offset > 0 && storage.count - queued >= added {
            let from = offset
            storage.withUnsafeMutableBytes { buffer in
                // `copyMemory` is a `memmove`: the two ranges may overlap.
                buffer.baseAddress!.copyMemory(
                    from: buffer.baseAddress! + from, byteCount: queued)
            }
            offset = 0
            end = queued
            return
        }
        var grown = [UInt8](
            repeating: 0, count: max(queued + added, 2 * storage.count, Self.initialBytes))
        if queued > 0 {
            let from = offset
            storage.withUnsafeBufferPointer { old in
                grown.withUnsafeMutableBufferPointer { new in
                    new.baseAddress!.update(from: old.baseAddress! + from, count: queued)
                }
            }
        }
        storage = grown
        offset = 0
        end = queued
    }

    /// The smallest storage: a response head and a small body.
    private static let initialBytes = 512
}
