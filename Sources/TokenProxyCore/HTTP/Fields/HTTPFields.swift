/// An ordered list of HTTP fields (header or trailer lines), as they appeared or will be sent.
///
/// Names compare case-insensitively (RFC 9110 §5.1) but keep the spelling they were given.
/// Duplicates are kept in order, never merged or overwritten: collapsing `Set-Cookie` or two
/// `Content-Length` lines would hide exactly what a strict parser must see.
///
/// Stored as bytes, not as Strings: one byte array holding the field count, the fields'
/// `Facts` (`HTTPFields+Facts.swift`), the first `Host` and `Content-Length` offsets and then, per field, a record `name length, value length (UInt32 each), name bytes, value bytes`. The
/// parser copies each line's name and value in once (`append(name:value:)`), and a `String` is
/// made only when a caller asks for one (`self[name]`, iteration as `Field`s). A `String` per
/// name and per value, validated as UTF-8 and reference-counted, was most of the parser's cost
/// per head; lookups now compare bytes. One array is one allocation per head and one word to
/// copy: the parser's events and the heads carrying fields are copied at every hand-over, and
/// a second reference made each copy an outlined, generic one (measured). The byte accessors
/// (`HTTPFields+Bytes.swift`) let a proxy forward fields without any `String` at all.
///
/// The type (and `Index`) is `public`, its members `package`: Swift 6.3 does not inline an
/// `@inlinable` member of a `package` type into another module (without library evolution
/// the body is not serialized, silently), and the byte accessors are called from the proxy's
/// modules on every request. No product exports this module, so nothing is published.
public struct HTTPFields: Sendable, ExpressibleByDictionaryLiteral {
    /// One field line. `name` and `value` are stored as given; `value` has no surrounding OWS.
    public struct Field: Sendable, Equatable {
        package var name: String
        package var value: String

        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A field's position: the byte offset of its record. Valid for the fields it came from
    /// until they change.
    /// `public` for the inlinable accessors (see the type's comment).
    public struct Index: Comparable, Sendable {
        @usableFromInline let offset: Int

        @inlinable
        init(offset: Int) { self.offset = offset }

        public static func < (lhs: Index, rhs: Index) -> Bool { lhs.offset < rhs.offset }
    }

    /// Empty (no allocation) or `count: UInt32, facts: UInt32, first Host: UInt32, first
    /// Content-Length: UInt32` followed by the records, little-endian. The two "first" words
    /// are the record offsets of the first field of that name (0 when there is none): the
    /// router reads `Host` of every request and the proxy `Content-Length` of every response,
    /// and with the offset noted when the field is appended a lookup is a load, not a scan.
    ///
    /// `@usableFromInline`, with the few helpers that read it, so that the byte accessors
    /// (`withValueBytes`, `forEachField`, …) are `@inlinable`: called from the proxy's modules
    /// they were generic calls running an unspecialized `Array.withUnsafeBufferPointer`
    /// (~340 instructions each, callgrind).
    @usableFromInline var storage: [UInt8]

    /// Bytes before the first record (the count, the facts and the first-record offsets).
    /// Computed, not stored `static let`s: a constant folds into an inlined caller, a global
    /// would be read through its lazy-initialization accessor.
    @inlinable static var headerBytes: Int { 16 }
    /// Where the facts are stored.
    @inlinable static var factsOffset: Int { 4 }

    /// Where the offset of the first record called `known` is stored, for the names that
    /// have one (`Host`, `Content-Length`), or nil.
    @inline(__always)
    static func firstRecordSlot(_ known: KnownName) -> Int? {
        switch known {
        case .host: return 8
        case .contentLength: return firstContentLengthSlot
        default: return nil
        }
    }
    /// `firstRecordSlot(.contentLength)`, for the inlinable readers (`UnsafeStorage`).
    @inlinable static var firstContentLengthSlot: Int { 12 }
    /// Bytes before a record's name (its two lengths).
    @inlinable static var recordHeaderBytes: Int { 8 }

    package init() { storage = [] }

    /// Empty, with room for `fieldCount` fields holding `byteCount` bytes of names and values
    /// in all, so that filling it does not reallocate.
    package init(reservingFields fieldCount: Int, bytes byteCount: Int) {
        storage = []
        storage.reserveCapacity(Self.headerBytes + Self.recordHeaderBytes * fieldCount + byteCount)
    }

    package init(_ pairs: [(String, String)]) {
        self.init()
        for (name, value) in pairs { append(name, value) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Number of field lines, duplicates counted separately.
    public var count: Int {
        storage.isEmpty ? 0 : storage.withUnsafeBytes { Int(Self.load($0, at: 0)) }
    }
    public var isEmpty: Bool { storage.isEmpty }

    /// The little-endian `UInt32` at `offset`.
    @inlinable @inline(__always)
    static func load(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The byte ranges of the name and value of the record at `offset` in `bytes`.
    @inlinable @inline(__always)
    static func record(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> (
        name: Range<Int>, value: Range<Int>
    ) {
        let nameStart = offset + recordHeaderBytes
        let valueStart = nameStart + Int(load(bytes, at: offset))
        return (nameStart..<valueStart, valueStart..<valueStart + Int(load(bytes, at: offset + 4)))
    }

    /// The name of field `index`, as a new `String`.
    package func name(at index: Index) -> String {
        withNameBytes(at: index) { String(decoding: $0, as: UTF8.self) }
    }

    /// The value of field `index`, as a new `String`.
    package func value(at index: Index) -> String {
        withValueBytes(at: index) { String(decoding: $0, as: UTF8.self) }
    }

    /// Adds a field at the end, keeping any existing ones of the same name.
    package mutating func append(_ name: String, _ value: String) {
        var name = name
        var value = value
        name.withUTF8 { name in value.withUTF8 { append(name: name, value: $0) } }
    }

    /// Adds a field at the end from bytes (the parser's path: the line's name and trimmed
    /// value, copied once). The bytes are stored as they are, not validated here.
    package mutating func append(
        name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>
    ) {
        append(name: name, value: value, known: KnownName(name))
    }

    /// `append(name:value:)` for a caller that already knows which known name `name` is
    /// (the parser classifies each name once, for its framing checks and for the facts).
    @inline(__always)
    mutating func append(
        name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>, known: KnownName?
    ) {
        let facts = Facts.noting(known, value: value)
        let wasEmpty = storage.isEmpty
        let header = wasEmpty ? Self.headerBytes : 0
        // This record's offset, noted in the header if it is the first of a name with a slot.
        let recordOffset = wasEmpty ? Self.headerBytes : storage.count
        let slot = known.flatMap { known in
            wasEmpty || !self.contains(known) ? Self.firstRecordSlot(known) : nil
        }
        let recordBytes = Self.recordHeaderBytes + name.count + value.count
        // The record (and, for the first field, the header: count 1 and the facts) written
        // into one stack buffer and appended with one call: one capacity and uniqueness check
        // per field instead of three (`append(contentsOf:)` was ~800 instructions per proxied
        // request, for the two heads' nine fields).
        withUnsafeTemporaryAllocation(byteCount: header + recordBytes, alignment: 1) { record in
            if wasEmpty {
                record.storeBytes(of: UInt32(1).littleEndian, toByteOffset: 0, as: UInt32.self)
                record.storeBytes(
                    of: facts.rawValue.littleEndian, toByteOffset: Self.factsOffset, as: UInt32.self
                )
                record.storeBytes(of: UInt64(0), toByteOffset: 8, as: UInt64.self)
                if let slot {
                    record.storeBytes(
                        of: UInt32(truncatingIfNeeded: recordOffset).littleEndian,
                        toByteOffset: slot, as: UInt32.self)
                }
            }
            record.storeBytes(
                of: UInt32(truncatingIfNeeded: name.count).littleEndian, toByteOffset: header,
                as: UInt32.self)
            record.storeBytes(
                of: UInt32(truncatingIfNeeded: value.count).littleEndian,
                toByteOffset: header + 4, as: UInt32.self)
            let nameStart = header + Self.recordHeaderBytes
            if let source = name.baseAddress, !name.isEmpty {
                (record.baseAddress! + nameStart).copyMemory(from: source, byteCount: name.count)
            }
            if let source = value.baseAddress, !value.isEmpty {
                (record.baseAddress! + nameStart + name.count).copyMemory(
                    from: source, byteCount: value.count)
            }
            storage.append(contentsOf: UnsafeRawBufferPointer(record).bindMemory(to: UInt8.self))
        }
        if !wasEmpty {
            storage.withUnsafeMutableBytes { bytes in
                let count = Self.load(UnsafeRawBufferPointer(bytes), at: 0) + 1
                let old = Self.load(UnsafeRawBufferPointer(bytes), at: Self.factsOffset)
                bytes.storeBytes(of: count.littleEndian, as: UInt32.self)
                bytes.storeBytes(
                    of: (old | facts.rawValue).littleEndian, toByteOffset: Self.factsOffset,
                    as: UInt32.self)
                if let slot {
                    bytes.storeBytes(
                        of: UInt32(truncatingIfNeeded: recordOffset).littleEndian,
                        toByteOffset: slot, as: UInt32.self)
                }
            }
        }
    }

    /// Replaces every `name` field with one line holding `value`, at the first one's position
    /// (or at the end when there was none).
    package mutating func set(_ name: String, _ value: String) {
        guard let first = firstIndex(named: name) else {
            append(name, value)
            return
        }
        var result = HTTPFields(reservingFields: count, bytes: storage.count + value.utf8.count)
        for index in indices {
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
        var result = HTTPFields(reservingFields: count, bytes: storage.count)
        for index in indices where !nameEquals(at: index, name) {
            result.appendField(at: index, of: self)
        }
        self = result
    }

    /// Appends field `index` of `other`, bytes as they are.
    private mutating func appendField(at index: Index, of other: HTTPFields) {
        other.withNameBytes(at: index) { name in
            other.withValueBytes(at: index) { append(name: name, value: $0) }
        }
    }
}

extension HTTPFields: Collection {
    public var startIndex: Index { Index(offset: storage.isEmpty ? 0 : Self.headerBytes) }
    public var endIndex: Index { Index(offset: storage.count) }

    public func index(after index: Index) -> Index {
        storage.withUnsafeBytes {
            Index(offset: Self.record($0, at: index.offset).value.upperBound)
        }
    }

    /// The field at `position` with its name and value as new Strings. Loops that only
    /// compare names or copy fields are cheaper with the byte accessors (`HTTPFields+Bytes`).
    public subscript(position: Index) -> Field {
        Field(name: name(at: position), value: value(at: position))
    }
}

extension HTTPFields: Equatable {
    /// Same fields in the same order, names compared exactly as spelled (as `Field`s do).
    /// Equal bytes decide at once; otherwise the Strings decide, so that Unicode-equivalent
    /// spellings compare equal exactly as they did when fields were stored as Strings.
    public static func == (lhs: HTTPFields, rhs: HTTPFields) -> Bool {
        if lhs.storage == rhs.storage { return true }
        return lhs.count == rhs.count && lhs.elementsEqual(rhs)
    }
}
