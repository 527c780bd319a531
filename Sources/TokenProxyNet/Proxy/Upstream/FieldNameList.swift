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

    /// ASCII-case-insensitive equality, the length compared first (most names differ in it).
    static func equal(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.utf8
        let right = rhs.utf8
        guard left.count == right.count else { return false }
        return left.elementsEqual(right) { lower($0) == lower($1) }
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}
