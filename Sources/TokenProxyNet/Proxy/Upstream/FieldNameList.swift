/// A short list of field names, matched ASCII-case-insensitively (RFC 9110 §5.1) without
/// allocating: the proxy checks every field of every message against the hop-by-hop names, and
/// lowercasing each name into a new `String` (most are written `Mixed-Case`) and hashing it into
/// a `Set` was a measurable share of a proxied request's instructions.
///
/// Two bit masks, of the names' lengths and of their first letters, answer most lookups
/// without comparing a byte: a message's fields are checked against a dozen names each, and
/// nearly all of them are absent.
///
/// The names are kept as one byte array of records, each a 4-byte length and the name's
/// lowercased bytes: a lookup compares lengths as integers, then bytes, touching no `String`
/// (a walk over an array of names read each string's UTF-8 count, ~15 instructions a name, and
/// the upstream list has fourteen), and an empty list is one empty array to make and drop.
struct FieldNameList: Sendable {
    private(set) var records: [UInt8] = []
    /// Bit `n` (n < 63) set when a name has `n` bytes; bit 63 stands for every longer one.
    private(set) var lengths: UInt64 = 0
    /// Bit `b & 31` set when a name starts with byte `b`: `A` and `a` differ by 32, so both
    /// cases of a letter share a bit (other bytes may share one too: a false hit only means
    /// the names are compared).
    private(set) var initials: UInt64 = 0

    init(_ names: [String] = []) {
        for name in names { insert(name) }
    }

    var isEmpty: Bool { records.isEmpty }

    mutating func insert(_ name: String) {
        let count = UInt32(truncatingIfNeeded: name.utf8.count)
        for shift in stride(from: 0, to: 32, by: 8) {
            records.append(UInt8(truncatingIfNeeded: count >> UInt32(shift)))
        }
        records.append(contentsOf: name.utf8.map(Self.lower))
        note(name)
    }

    mutating func insert(_ name: Substring) {
        insert(String(name))
    }

    mutating func remove(_ name: String) {
        var kept: [String] = []
        forEachName { stored -> Bool in
            let stored = String(decoding: stored, as: UTF8.self)
            if !Self.equal(stored, name) { kept.append(stored) }
            return false
        }
        self = FieldNameList(kept)
    }

    func contains(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { contains($0) }
    }

    /// The 4-byte little-endian length of the record at `start`: one load.
    @inline(__always)
    static func length(in records: UnsafeBufferPointer<UInt8>, at start: Int) -> Int {
        precondition(start + 4 <= records.count)
        let raw = UnsafeRawPointer(records.baseAddress! + start)
        return Int(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
    }

    /// Calls `body` with each name's (lowercased) bytes, in order; stops when it returns true.
    /// Returns whether it did.
    @discardableResult
    func forEachName(_ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        records.withUnsafeBufferPointer { records in
            var start = 0
            while start < records.count {
                let count = Self.length(in: records, at: start)
                let name = UnsafeBufferPointer(rebasing: records[start + 4..<start + 4 + count])
                if body(name) { return true }
                start += 4 + count
            }
            return false
        }
    }

    private mutating func note(_ name: String) {
        guard let (length, initial) = Self.bits(name) else { return }
        lengths |= length
        initials |= initial
    }

    /// The mask bits of `name`; nil for the empty name (never a field name).
    @inline(__always)
    static func bits(_ name: String) -> (length: UInt64, initial: UInt64)? {
        let utf8 = name.utf8
        guard let first = utf8.first else { return nil }
        return (1 << UInt64(min(utf8.count, 63)), 1 << UInt64(first & 31))
    }

    /// ASCII-case-insensitive equality, the length compared first (most names differ in it),
    /// then the bytes in place: `elementsEqual` over two `UTF8View`s with a closure went
    /// through the generic index walk per byte (4 % of a proxied request).
    static func equal(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count,
            let leftFirst = lhs.utf8.first, let rightFirst = rhs.utf8.first,
            lower(leftFirst) == lower(rightFirst)
        else { return lhs.isEmpty && rhs.isEmpty }
        let fast = lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right in
                for index in 0..<left.count where lower(left[index]) != lower(right[index]) {
                    return false
                }
                return true
            }
        }
        if let fast = fast ?? nil { return fast }
        return lhs.utf8.elementsEqual(rhs.utf8) { lower($0) == lower($1) }
    }

    /// Whether `name` is `lowercased` (a lowercase literal) in any ASCII case: one length
    /// read, then the bytes against the literal's (half the cost of `equal` on two strings).
    static func isNamed(_ name: String, _ lowercased: StaticString) -> Bool {
        let utf8 = name.utf8
        guard utf8.count == lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        let same = utf8.withContiguousStorageIfAvailable { bytes in
            for index in 0..<bytes.count where lower(bytes[index]) != expected[index] {
                return false
            }
            return true
        }
        if let same { return same }
        var index = 0
        for byte in utf8 {
            if lower(byte) != expected[index] { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}
