/// A line of `/proc/self/smaps`, or a part of one, read in place: `ResidentFileMapping`
/// scans the whole file once without making a `String` or `Substring` per line or field.
///
/// Valid only while the buffer it points into is; it never leaves `releasable(smaps:)`.
struct SmapsLine {
    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var start: Int
    let end: Int

    init(bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int) {
        self.bytes = bytes
        self.start = start
        self.end = end
    }

    var count: Int { end - start }
    var isEmpty: Bool { start >= end }
    var first: UInt8? { isEmpty ? nil : bytes[start] }

    /// The byte at `offset` from the start.
    subscript(offset: Int) -> UInt8 { bytes[start + offset] }

    /// The absolute index of the first `byte`, for `prefix(upTo:)` and `suffix(from:)`.
    func firstIndex(of byte: UInt8) -> Int? {
        var index = start
        while index < end {
            if bytes[index] == byte { return index }
            index += 1
        }
        return nil
    }

    func prefix(upTo index: Int) -> SmapsLine { SmapsLine(bytes: bytes, start: start, end: index) }
    func suffix(from index: Int) -> SmapsLine { SmapsLine(bytes: bytes, start: index, end: end) }

    /// Without its leading spaces.
    var droppingLeadingSpaces: SmapsLine {
        var rest = self
        while let byte = rest.first, byte == UInt8(ascii: " ") { rest.start += 1 }
        return rest
    }

    /// Takes the next run of non-space bytes (empty at the end), leaving `self` just after it.
    mutating func nextField() -> SmapsLine {
        self = droppingLeadingSpaces
        var fieldEnd = start
        while fieldEnd < end, bytes[fieldEnd] != UInt8(ascii: " ") { fieldEnd += 1 }
        defer { start = fieldEnd }
        return prefix(upTo: fieldEnd)
    }

    /// The first run of non-space bytes (`Rss:        64 kB` → `64`).
    var firstField: SmapsLine {
        var rest = self
        return rest.nextField()
    }

    /// Whether one of the space-separated fields is exactly `word` (`VmFlags: … lo …`).
    func containsField(_ word: StaticString) -> Bool {
        var rest = self
        while true {
            let field = rest.nextField()
            if field.isEmpty { return false }
            if field.equals(word) { return true }
        }
    }

    /// Whether these bytes are exactly `text`'s.
    func equals(_ text: StaticString) -> Bool {
        guard count == text.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        for offset in 0..<count where self[offset] != expected[offset] { return false }
        return true
    }

    /// A non-negative decimal number (the kB counts), or nil for anything else or an overflow.
    var decimal: Int? { number(radix: 10).flatMap { Int(exactly: $0) } }

    /// A hexadecimal address, or nil for anything else or an overflow.
    var hexadecimal: UInt? { number(radix: 16) }

    private func number(radix: UInt) -> UInt? {
        guard !isEmpty else { return nil }
        var value: UInt = 0
        for index in start..<end {
            let byte = bytes[index]
            let digit: UInt
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            guard digit < radix else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: radix)
            let (sum, carry) = shifted.addingReportingOverflow(digit)
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return value
    }

    /// The bytes as text (a mapping's path).
    var string: String { String(decoding: bytes[start..<end], as: UTF8.self) }
}
