/// A short list of field names, matched ASCII-case-insensitively (RFC 9110 §5.1) without
/// allocating: the proxy checks every field of every message against the hop-by-hop names, and
/// lowercasing each name into a new `String` (most are written `Mixed-Case`) and hashing it into
/// a `Set` was a measurable share of a proxied request's instructions.
struct FieldNameList: Sendable {
    /// Lowercased names.
    private var names: [[UInt8]]

    init(_ names: [String] = []) {
        self.names = names.map { Self.lowered($0.utf8) }
    }

    var isEmpty: Bool { names.isEmpty }

    mutating func insert(_ name: some StringProtocol) {
        names.append(Self.lowered(name.utf8))
    }

    mutating func remove(_ name: some StringProtocol) {
        let lowered = Self.lowered(name.utf8)
        names.removeAll { $0 == lowered }
    }

    func contains(_ name: String) -> Bool {
        guard !names.isEmpty else { return false }
        var name = name
        return name.withUTF8 { bytes in names.contains { Self.matches($0, bytes) } }
    }

    private static func matches(_ lowered: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard lowered.count == bytes.count else { return false }
        for index in 0..<bytes.count where lower(bytes[index]) != lowered[index] {
            return false
        }
        return true
    }

    private static func lowered(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        bytes.map(lower)
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}
