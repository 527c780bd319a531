import TokenProxyCore

/// Bytes queued for one socket of a proxied exchange (the client's, or the upstream's) that it
/// has not taken yet, and the backpressure rule built on them: while more than `bound` bytes
/// wait here, the proxy stops reading from the side that produces them, so a fast sender and
/// a slow reader cost at most about `bound` plus one read of memory, whatever the body size.
///
/// Pure: no sockets. The connection appends, tries to send `unsent`, and reports what the
/// socket took with `consumed`.
struct ProxyOutputQueue: Sendable, Equatable {
    /// Above this many queued bytes the producing side is not read.
    let bound: Int
    private(set) var bytes: [UInt8] = []
    private var offset = 0
    /// The most bytes queued at once (for `ProxyEngine.peakBufferedBodyBytes`).
    private(set) var peak = 0

    init(bound: Int = Limits.Proxy.pendingOutputBytes) {
        self.bound = bound
    }

    /// Bytes waiting to be sent.
    var count: Int { bytes.count - offset }
    var isEmpty: Bool { offset == bytes.count }
    /// Whether the producing side may be read: the queue is at or below its bound.
    var acceptsMore: Bool { count <= bound }

    mutating func append(_ more: some Collection<UInt8>) {
        guard !more.isEmpty else { return }
        if offset > 0 && offset == bytes.count {
            // All sent: start over rather than grow.
            bytes.removeAll(keepingCapacity: true)
            offset = 0
        }
        bytes.append(contentsOf: more)
        peak = max(peak, count)
    }

    /// Appends what `write` appends to the queue's storage (a head written by `HeadWriter`
    /// straight into it: no array of its own, no copy).
    mutating func append(writing write: (inout [UInt8]) -> Void) {
        if offset > 0 && offset == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            offset = 0
        }
        write(&bytes)
        peak = max(peak, count)
    }

    /// Appends `piece` as one chunk (RFC 9112 §7.1: hex size, CRLF, data, CRLF), without an
    /// intermediate array.
    mutating func appendChunk(_ piece: some Collection<UInt8>) {
        guard !piece.isEmpty else { return }
        var size = piece.count
        var digits: [UInt8] = []
        while size > 0 {
            let digit = UInt8(size & 0xF)
            digits.append(digit < 10 ? 0x30 + digit : 0x61 + digit - 10)
            size >>= 4
        }
        append(digits.reversed() + [0x0D, 0x0A])
        append(piece)
        append([0x0D, 0x0A])
    }

    /// Calls `body` with the unsent bytes (non-empty) and drops as many as it returns.
    mutating func send(_ body: (UnsafeRawBufferPointer) -> Int) {
        guard !isEmpty else { return }
        let taken = bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
        consumed(taken)
    }

    /// The socket took `count` more bytes.
    mutating func consumed(_ count: Int) {
        precondition(count >= 0 && count <= self.count, "consumed more than was queued")
        offset += count
        if offset == bytes.count {
            // Keep a small buffer for the next response; give a large one back, so that an
            // idle keep-alive connection holds no relay-sized buffer.
            if bytes.capacity > Limits.Proxy.retainedOutputBytes {
                bytes = []
            } else {
                bytes.removeAll(keepingCapacity: true)
            }
            offset = 0
        } else if offset >= bound {
            // Most of a big buffer went out: move the rest to the front once.
            bytes.removeFirst(offset)
            offset = 0
        }
    }

    /// Forgets everything queued (the socket is gone).
    mutating func removeAll() {
        bytes = []
        offset = 0
    }
}
