import TokenProxyCore

/// Lookups on a field's name bytes as `HTTPFields.forEachField` hands them out, so that the
/// proxy decides about every field of a head without making a `String` of its name (building
/// one per field and value was ~3.6k instructions per proxied request).
extension FieldNameList {
    /// Whether `name` (bytes, any case) is in the list; the masks answer most misses.
    @inline(__always)
    func contains(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = name.first, lengths & (1 << UInt64(min(name.count, 63))) != 0,
            initials & (1 << UInt64(first & 31)) != 0
        else { return false }
        // The records walked in place (no closure per name): most differ in length.
        return records.withUnsafeBufferPointer { records in
            var start = 0
            while start < records.count {
                let count = Self.length(in: records, at: start)
                let bytes = start + 4
                if count == name.count {
                    var index = 0
                    while index < count && Self.lower(name[index]) == records[bytes + index] {
                        index += 1
                    }
                    if index == count { return true }
                }
                start = bytes + count
            }
            return false
        }
    }

    /// ASCII-case-insensitive equality of a `String` and name bytes.
    static func equal(_ lhs: String, _ rhs: UnsafeBufferPointer<UInt8>) -> Bool {
        guard lhs.utf8.count == rhs.count else { return false }
        var lhs = lhs
        return lhs.withUTF8 { HTTPFields.equalIgnoringCase($0, rhs) }
    }

    /// Whether the bytes `name` are `lowercased` (a lowercase literal) in any ASCII case.
    @inline(__always)
    static func isNamed(_ name: UnsafeBufferPointer<UInt8>, _ lowercased: StaticString) -> Bool {
        guard name.count == lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        for index in 0..<name.count where lower(name[index]) != expected[index] { return false }
        return true
    }

    /// Inserts the name given as bytes (a `Connection` token: rare, so a `String` is fine).
    mutating func insert(_ name: UnsafeBufferPointer<UInt8>) {
        insert(String(decoding: name, as: UTF8.self))
    }
}
