/// An ordered list of HTTP fields (header or trailer lines), as they appeared or will be sent.
///
/// Names compare case-insensitively (RFC 9110 §5.1) but keep the spelling they were given.
/// Duplicates are kept in order, never merged or overwritten: collapsing `Set-Cookie` or two
/// `Content-Length` lines would hide exactly what a strict parser must see.
///
/// Stored as bytes, not as Strings: every name and value back to back in one byte array, and
/// per field the offsets where its name and its value end (a field starts where the one
/// before it ended). The parser copies each line's bytes in once (`append(name:value:)`), and
/// a `String` is made only when a caller asks for one (`self[name]`, iteration as `Field`s).
/// A `String` per name and per value, validated as UTF-8 and reference-counted, was most of
/// the parser's cost per head; lookups compare bytes, and the byte accessors
/// (`HTTPFields+Bytes.swift`) let a proxy forward fields without any `String` at all.
package struct HTTPFields: Sendable, ExpressibleByDictionaryLiteral {
    /// One field line. `name` and `value` are stored as given; `value` has no surrounding OWS.
    package struct Field: Sendable, Equatable {
        package var name: String
        package var value: String

        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Where field `i`'s name and value end in `bytes`; its name starts at the previous
    /// field's `valueEnd` (0 for the first) and its value at its own `nameEnd`. 32 bits each:
    /// a head is at most `Limits.HTTP.maxHeadBytes`, and built fields are small.
    struct Ends: Sendable, Equatable {
        var nameEnd: UInt32
        var valueEnd: UInt32
    }

    /// Every name and value, back to back, in field order.
    var bytes: [UInt8]
    var ends: [Ends]

    package init() {
        bytes = []
        ends = []
    }

    /// Empty, with room for `fieldCount` fields holding `byteCount` bytes of names and values
    /// in all, so that filling it does not reallocate.
    package init(reservingFields fieldCount: Int, bytes byteCount: Int) {
        self.init()
        ends.reserveCapacity(fieldCount)
        bytes.reserveCapacity(byteCount)
    }

    package init(_ pairs: [(String, String)]) {
        self.init()
        for (name, value) in pairs { append(name, value) }
    }

    package init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Number of field lines, duplicates counted separately.
    package var count: Int { ends.count }
    package var isEmpty: Bool { ends.isEmpty }

    /// The byte range of field `index`'s name.
    @inline(__always)
    func nameRange(_ index: Int) -> Range<Int> {
        let start = index == 0 ? 0 : Int(ends[index - 1].valueEnd)
        return start..<Int(ends[index].nameEnd)
    }

    /// The byte range of field `index`'s value.
    @inline(__always)
    func valueRange(_ index: Int) -> Range<Int> {
        Int(ends[index].nameEnd)..<Int(ends[index].valueEnd)
    }

    /// The name of field `index`, as a new `String`.
    package func name(at index: Int) -> String {
        string(nameRange(index))
    }

    /// The value of field `index`, as a new `String`.
    package func value(at index: Int) -> String {
        string(valueRange(index))
    }

    private func string(_ range: Range<Int>) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: $0[range], as: UTF8.self) }
    }

    /// Adds a field at the end, keeping any existing ones of the same name.
    package mutating func append(_ name: String, _ value: String) {
        bytes.append(contentsOf: name.utf8)
        let nameEnd = UInt32(bytes.count)
        bytes.append(contentsOf: value.utf8)
        ends.append(Ends(nameEnd: nameEnd, valueEnd: UInt32(bytes.count)))
    }

    /// Replaces every `name` field with one line holding `value`, at the first one's position
    /// (or at the end when there was none).
    package mutating func set(_ name: String, _ value: String) {
        guard let first = firstIndex(named: name) else {
            append(name, value)
            return
        }
        var result = HTTPFields(reservingFields: count, bytes: bytes.count + value.utf8.count)
        for index in 0..<count {
            if index == first {
                result.append(self.name(at: index), value)
            } else if !nameEquals(at: index, name) {
                result.appendField(at: index, of: self)
            }
        }
        self = result
    }

    /// Removes every field called `name`.
    package mutating func remove(_ name: String) {
        guard firstIndex(named: name) != nil else { return }
        var result = HTTPFields(reservingFields: count, bytes: bytes.count)
        for index in 0..<count where !nameEquals(at: index, name) {
            result.appendField(at: index, of: self)
        }
        self = result
    }

    /// Appends field `index` of `other`, bytes as they are.
    private mutating func appendField(at index: Int, of other: HTTPFields) {
        let names = other.nameRange(index)
        let values = other.valueRange(index)
        bytes.append(contentsOf: other.bytes[names])
        let nameEnd = UInt32(bytes.count)
        bytes.append(contentsOf: other.bytes[values])
        ends.append(Ends(nameEnd: nameEnd, valueEnd: UInt32(bytes.count)))
    }
}

extension HTTPFields: RandomAccessCollection {
    package var startIndex: Int { 0 }
    package var endIndex: Int { ends.count }

    /// Field `position` with its name and value as new Strings. Loops that only compare names
    /// or copy fields are cheaper with the byte accessors (`HTTPFields+Bytes.swift`).
    package subscript(position: Int) -> Field {
        Field(name: name(at: position), value: value(at: position))
    }
}

extension HTTPFields: Equatable {
    /// Same fields in the same order, names compared exactly as spelled (as `Field`s do).
    /// Equal bytes decide at once; otherwise the Strings decide, so that Unicode-equivalent
    /// spellings compare equal exactly as they did when fields were stored as Strings.
    package static func == (lhs: HTTPFields, rhs: HTTPFields) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.ends == rhs.ends && lhs.bytes == rhs.bytes { return true }
        return lhs.elementsEqual(rhs)
    }
}
