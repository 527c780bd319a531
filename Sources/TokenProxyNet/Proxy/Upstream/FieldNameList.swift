/// A short list of field names, matched ASCII-case-insensitively (RFC 9110 §5.1) without
/// allocating: the proxy checks every field of every message against the hop-by-hop names, and
/// lowercasing each name into a new `String` (most are written `Mixed-Case`) and hashing it into
/// a `Set` was a measurable share of a proxied request's instructions.
struct FieldNameList: Sendable {
    private var names: [String]

    init(_ names: [String] = []) {
        self.names = names
    }

    var isEmpty: Bool { names.isEmpty }

    mutating func insert(_ name: String) {
        names.append(name)
    }

    mutating func insert(_ name: Substring) {
        names.append(String(name))
    }

    mutating func remove(_ name: String) {
        names.removeAll { Self.equal($0, name) }
    }

    func contains(_ name: String) -> Bool {
        names.contains { Self.equal($0, name) }
    }

    /// ASCII-case-insensitive equality, the length compared first (most names differ in it),
    /// then the bytes in place: `elementsEqual` over two `UTF8View`s with a closure went
    /// through the generic index walk per byte (4 % of a proxied request).
    static func equal(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
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

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}
