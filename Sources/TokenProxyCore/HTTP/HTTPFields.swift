/// An ordered list of HTTP fields (header or trailer lines), as they appeared or will be sent.
///
/// Names compare case-insensitively (RFC 9110 §5.1) but keep the spelling they were given.
/// Duplicates are kept in order, never merged or overwritten: collapsing `Set-Cookie` or two
/// `Content-Length` lines would hide exactly what a strict parser must see.
package struct HTTPFields: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// One field line. `name` and `value` are stored as given; `value` has no surrounding OWS.
    package struct Field: Sendable, Equatable {
        package var name: String
        package var value: String

        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    private var fields: [Field]

    package init() { fields = [] }

    package init(_ pairs: [(String, String)]) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    package init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Number of field lines, duplicates counted separately.
    package var count: Int { fields.count }
    package var isEmpty: Bool { fields.isEmpty }

    package func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// The first value of `name`, or nil. Use `values(_:)` for fields that may repeat.
    package subscript(name: String) -> String? {
        fields.first { Self.namesEqual($0.name, name) }?.value
    }

    /// Every value of `name`, in order.
    package func values(_ name: String) -> [String] {
        fields.filter { Self.namesEqual($0.name, name) }.map(\.value)
    }

    /// Whether at least one field is called `name`.
    package func contains(_ name: String) -> Bool {
        fields.contains { Self.namesEqual($0.name, name) }
    }

    /// Adds a field at the end, keeping any existing ones of the same name.
    package mutating func append(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces every `name` field with one line holding `value`, at the first one's position
    /// (or at the end when there was none).
    package mutating func set(_ name: String, _ value: String) {
        if let first = fields.firstIndex(where: { Self.namesEqual($0.name, name) }) {
            fields[first].value = value
            var index = fields.index(after: first)
            while index < fields.endIndex {
                if Self.namesEqual(fields[index].name, name) {
                    fields.remove(at: index)
                } else {
                    index += 1
                }
            }
        } else {
            append(name, value)
        }
    }

    /// Removes every field called `name`.
    package mutating func remove(_ name: String) {
        fields.removeAll { Self.namesEqual($0.name, name) }
    }

    /// The comma-separated elements of every `name` field (RFC 9110 §5.6.1), trimmed of OWS,
    /// empty elements dropped. Only for list-valued fields such as `Connection`.
    package func listElements(_ name: String) -> [Substring] {
        values(name).flatMap { value in
            value.split(separator: ",").map { $0.trimmingOWS() }.filter { !$0.isEmpty }
        }
    }

    /// Whether the `name` list fields contain `token`, compared case-insensitively.
    package func listContains(_ name: String, token: String) -> Bool {
        listElements(name).contains { Self.namesEqual(String($0), token) }
    }

    /// ASCII case-insensitive comparison without allocating; field names are ASCII tokens.
    package static func namesEqual(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.utf8
        let right = rhs.utf8
        // Most comparisons are of different names: their lengths differ (an O(1) count).
        guard left.count == right.count else { return false }
        if lhs == rhs { return true }  // the usual match: the same spelling, compared at once
        var rightBytes = right.makeIterator()
        for byte in left {
            guard let other = rightBytes.next(), asciiLower(byte) == asciiLower(other) else {
                return false
            }
        }
        return true
    }

    private static func asciiLower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}

extension Substring {
    /// Drops leading and trailing SP and HTAB (OWS, RFC 9110 §5.6.3).
    func trimmingOWS() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
