/// Word-at-a-time byte searches for the parser's hot loops: eight bytes per step instead of
/// one (the line-end scan ran byte by byte and was the largest single cost of a head).
///
/// The classic "has a zero byte" test (`(x - 0x01…) & ~x & 0x80…`, see Hacker's Delight
/// §6-1) applied to `x ^ (needle × 0x01…)` marks bytes equal to the needle. Borrows can only
/// mark bytes *above* a true match, never below one, so the lowest marked byte is exact; words
/// are read little-endian so that "lowest" is the first in memory. Loads are unaligned reads
/// inside the buffer (the tail shorter than a word is scanned byte by byte), so nothing is read
/// past its end.
enum HTTPByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The index of the first `needle` in `bytes[start..<end]`, or `end` when there is none.
    @inline(__always)
    static func firstIndex(
        of needle: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int
    ) -> Int {
        guard let base = bytes.baseAddress else { return end }
        let pattern = ones &* UInt64(needle)
        var index = start
        while index + 8 <= end {
            let word =
                UInt64(
                    littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                ^ pattern
            let marks = (word &- ones) & ~word & highs
            if marks != 0 { return index + marks.trailingZeroBitCount / 8 }
            index += 8
        }
        while index < end {
            if base[index] == needle { return index }
            index += 1
        }
        return end
    }

    /// The index of the first byte of `bytes` that is no `tchar` (RFC 9110 §5.6.2, see
    /// `HTTPFields.isTokenByte`), or `bytes.count` when all are: the end of a field name, where
    /// its colon should be.
    ///
    /// Field names are nearly all letters, digits and `-`: a word of those passes in a few
    /// operations (`marks`), and the first byte that is none of them is found from the word's
    /// marks. From there the bytes go one at a time through `isTokenByte`, which decides the
    /// other tchars (`_`, `.`, `~` …) exactly.
    @inline(__always)
    static func tokenPrefixLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let end = bytes.count
        var index = 0
        while index + 8 <= end {
            let word = UInt64(
                littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            let low = word & lows
            let fast = letters(low) | inRange(low, 0x30, 0x39) | equal(low, 0x2D)
            let others = ~fast & highs | word & highs
            if others != 0 {
                index += others.trailingZeroBitCount / 8
                break
            }
            index += 8
        }
        while index < end && HTTPFields.isTokenByte(base[index]) { index += 1 }
        return index
    }

    /// Every byte's low seven bits.
    private static let lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F

    /// The high bit of each byte of `low` (bytes below 0x80) set where the byte is in
    /// `first...last` (both below 0x80): `x + (0x80 - first)` reaches the high bit exactly
    /// when x ≥ first, `x + (0x7F - last)` exactly when x > last, and neither carries out of
    /// its byte. Other bits are noise: mask with `highs`.
    @inline(__always)
    private static func inRange(_ low: UInt64, _ first: UInt8, _ last: UInt8) -> UInt64 {
        (low &+ ones &* UInt64(0x80 - first)) & ~(low &+ ones &* UInt64(0x7F - last))
    }

    /// The high bit of each byte of `low` (bytes below 0x80) set where the byte is `byte`:
    /// x ^ byte is 0 only there, and 0 + 0x7F is the only such sum below 0x80.
    @inline(__always)
    private static func equal(_ low: UInt64, _ byte: UInt8) -> UInt64 {
        ~((low ^ ones &* UInt64(byte)) &+ lows)
    }

    /// The high bit of each byte of `low` (bytes below 0x80) set where the byte is an ASCII
    /// letter: with bit 5 set, `A`–`Z` read as `a`–`z` and no other byte becomes a letter.
    @inline(__always)
    private static func letters(_ low: UInt64) -> UInt64 {
        inRange(low | ones &* 0x20, 0x61, 0x7A)
    }

    /// Whether `lhs` and `rhs` hold the same bytes, compared eight at a time.
    @inline(__always)
    static func equal(_ lhs: UnsafeBufferPointer<UInt8>, _ rhs: UnsafeBufferPointer<UInt8>) -> Bool
    {
        guard lhs.count == rhs.count else { return false }
        guard let left = lhs.baseAddress, let right = rhs.baseAddress else { return true }
        let end = lhs.count
        var index = 0
        while index + 8 <= end {
            if UnsafeRawPointer(left + index).loadUnaligned(as: UInt64.self)
                != UnsafeRawPointer(right + index).loadUnaligned(as: UInt64.self)
            {
                return false
            }
            index += 8
        }
        while index < end {
            if left[index] != right[index] { return false }
            index += 1
        }
        return true
    }

    /// Whether every byte of `bytes` is visible ASCII, 0x21–0x7E (a request-target's
    /// characters, `HTTPFields.isValidRequestTarget`), eight at a time: no byte ≥ 0x80, none
    /// below 0x21 (the borrow test is exact for "any", as in `allValueBytes`), none 0x7F.
    @inline(__always)
    static func allVisibleASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let end = bytes.count
        let below = ones &* 0x21
        let delete = ones &* 0x7F
        var index = 0
        while index + 8 <= end {
            let word = UInt64(
                littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            let deletes = word ^ delete
            let faults = word | (word &- below) & ~word | (deletes &- ones) & ~deletes
            if faults & highs != 0 { return false }
            index += 8
        }
        while index < end {
            if base[index] < 0x21 || base[index] > 0x7E { return false }
            index += 1
        }
        return true
    }

    /// Whether every byte of `bytes` may appear in a field value (RFC 9110 §5.5, see
    /// `HTTPFields.isValueByte`): no control character but HTAB, no DEL. Whole words with
    /// no byte below 0x20 and none equal to 0x7F pass in a few operations; a word with a
    /// suspect byte (usually an HTAB) is checked byte by byte.
    static func allValueBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let end = bytes.count
        let below = ones &* 0x20
        let delete = ones &* 0x7F
        var index = 0
        while index + 8 <= end {
            let word = UInt64(
                littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            // A byte below 0x20 (`word - 0x20…` borrows into its high bit while its own is
            // clear: exact for "any", as bytes ≥ 0x80 have the high bit set and are excluded),
            // or a byte equal to 0x7F.
            let control = (word &- below) & ~word & highs
            let deletes = word ^ delete
            let isDelete = (deletes &- ones) & ~deletes & highs
            if control | isDelete != 0 {
                for offset in index..<index + 8 where !HTTPFields.isValueByte(base[offset]) {
                    return false
                }
            }
            index += 8
        }
        while index < end {
            if !HTTPFields.isValueByte(base[index]) { return false }
            index += 1
        }
        return true
    }
}
