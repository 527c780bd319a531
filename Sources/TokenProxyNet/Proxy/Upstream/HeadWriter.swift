/// Writes a message head into memory sized before the first byte: each piece is one `memcpy`
/// at a moving pointer, with no capacity check or uniqueness test per append.
///
/// `Array.append(contentsOf:)` with a buffer cost ~90 instructions a call and a head takes
/// twenty of them; the proxy writes two heads per request (callgrind). The caller computes an
/// upper bound of the head's size (`HeadWriter.bytes(capacity:_:)`); every write checks that
/// bound with one comparison and traps past it, so a wrong bound is a crash in tests, never
/// a write out of bounds.
struct HeadWriter {
    private var next: UnsafeMutablePointer<UInt8>
    private let end: UnsafeMutablePointer<UInt8>

    private init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        next = buffer.baseAddress!
        end = next + buffer.count
    }

    /// The bytes `body` writes, in an array of at most `capacity` bytes (one allocation).
    static func bytes(capacity: Int, _ body: (inout HeadWriter) -> Void) -> [UInt8] {
        var bytes: [UInt8] = []
        append(to: &bytes, capacity: capacity, body)
        return bytes
    }

    /// Appends the bytes `body` writes (at most `capacity`) to `bytes`, in its storage: an
    /// array that kept its capacity (an output queue between requests) allocates nothing.
    /// Returns how many were written.
    @discardableResult
    static func append(
        to bytes: inout [UInt8], capacity: Int, _ body: (inout HeadWriter) -> Void
    ) -> Int {
        let start = bytes.count
        let room = max(capacity, 1)
        // Grown by a copy of zeros (one `memcpy`), then cut to what was written:
        // `Array(unsafeUninitializedCapacity:)` allocates through the standard library's
        // unspecialized generic path (a metadata lookup, ~400 instructions more).
        var left = room
        while left > 0 {
            let piece = min(left, zeros.count)
            bytes.append(contentsOf: zeros[0..<piece])
            left -= piece
        }
        let written = bytes.withUnsafeMutableBufferPointer { buffer in
            var writer = HeadWriter(UnsafeMutableBufferPointer(rebasing: buffer[start...]))
            body(&writer)
            return writer.next - (buffer.baseAddress! + start)
        }
        bytes.removeLast(room - written)
        return written
    }

    /// Writes what `body` writes into `buffer` (the bound is its size); returns how many bytes.
    static func write(
        into buffer: UnsafeMutableBufferPointer<UInt8>, _ body: (inout HeadWriter) -> Void
    ) -> Int {
        var writer = HeadWriter(buffer)
        body(&writer)
        return writer.next - buffer.baseAddress!
    }

    /// What `append` grows an array by before writing into it.
    private static let zeros = [UInt8](repeating: 0, count: 4096)

    /// Room for `count` more bytes, or a trap (the caller's bound was wrong: our bug).
    @inline(__always)
    private func reserve(_ count: Int) {
        precondition(end - next >= count, "HeadWriter: the head is longer than its bound")
    }

    @inline(__always)
    mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count)
        guard let source = bytes.baseAddress else { return }
        copy(from: source, count: bytes.count)
    }

    /// Copies `count` bytes to `next` and moves past them. Most pieces of a head (a method, a
    /// field name, a short value) are 16 bytes or fewer: those are two loads and two stores,
    /// possibly overlapping, inside both ranges, where a `memmove` call cost ~25 instructions
    /// (a head has a dozen pieces). The caller reserved the room.
    @inline(__always)
    private mutating func copy(from source: UnsafePointer<UInt8>, count: Int) {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(next)
        if count > 16 {
            next.update(from: source, count: count)
        } else if count >= 8 {
            // Both words are read before either is written.
            let first = from.loadUnaligned(as: UInt64.self)
            let last = from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            to.storeBytes(of: first, as: UInt64.self)
            to.storeBytes(of: last, toByteOffset: count - 8, as: UInt64.self)
        } else if count >= 4 {
            let first = from.loadUnaligned(as: UInt32.self)
            let last = from.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            to.storeBytes(of: first, as: UInt32.self)
            to.storeBytes(of: last, toByteOffset: count - 4, as: UInt32.self)
        } else {
            for index in 0..<count { next[index] = source[index] }
        }
        next += count
    }

    @inline(__always)
    mutating func write(_ literal: StaticString) {
        write(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// The string's UTF-8 bytes, as one block from its storage.
    @inline(__always)
    mutating func write(_ string: String) {
        let copied: Void? = string.utf8.withContiguousStorageIfAvailable { write($0) }
        if copied == nil {
            var string = string
            string.withUTF8 { write($0) }
        }
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        reserve(1)
        next.pointee = value
        next += 1
    }

    /// CR LF.
    @inline(__always)
    mutating func crlf() {
        reserve(2)
        next[0] = 0x0D
        next[1] = 0x0A
        next += 2
    }

    /// `name: value` CRLF (RFC 9112 §5).
    @inline(__always)
    mutating func field(_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) {
        write(name)
        reserve(2)
        next[0] = 0x3A
        next[1] = 0x20
        next += 2
        write(value)
        crlf()
    }

    /// `name: value` CRLF for a literal name.
    mutating func field(_ name: StaticString, _ value: String) {
        write(name)
        write(": ")
        write(value)
        crlf()
    }

    /// `value` in decimal ASCII digits (at most 20 bytes), without a `String`: counted, then
    /// written from the last digit back (a status code is three divisions by 10, which the
    /// compiler turns into multiplications).
    mutating func decimal(_ value: Int) {
        // Three digits (every status code, the length of many bodies): no counting loop, two
        // divisions (multiplications by a reciprocal) instead of six, ~90 → ~35 instructions.
        if value >= 100 && value < 1000 {
            reserve(3)
            let hundreds = value / 100
            let rest = value &- hundreds &* 100
            let tens = rest / 10
            next[0] = 0x30 &+ UInt8(truncatingIfNeeded: hundreds)
            next[1] = 0x30 &+ UInt8(truncatingIfNeeded: tens)
            next[2] = 0x30 &+ UInt8(truncatingIfNeeded: rest &- tens &* 10)
            next += 3
            return
        }
        guard value >= 0 else {
            write(String(value))
            return
        }
        var digits = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        reserve(digits)
        var rest = value
        var position = digits
        while position > 0 {
            position -= 1
            next[position] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        next += digits
    }

    /// Most bytes `decimal` writes.
    static let maxDecimalBytes = 20
}

/// Where a head is written: an array (tests, one-off heads), or an output queue, in its own
/// storage (`ProxyOutputQueue.appendHead`: no array per head, no copy).
protocol HeadSink {
    /// Appends what `body` writes, at most `capacity` bytes.
    mutating func appendHead(capacity: Int, _ body: (inout HeadWriter) -> Void)
}

extension Array: HeadSink where Element == UInt8 {
    mutating func appendHead(capacity: Int, _ body: (inout HeadWriter) -> Void) {
        HeadWriter.append(to: &self, capacity: capacity, body)
    }
}

extension ProxyOutputQueue: HeadSink {}
