/// Finding fields by name (ASCII case-insensitive, RFC 9110 §5.1) over the stored bytes: a
/// lookup compares lengths, then bytes, and makes a `String` only for what it returns.
extension HTTPFields {
    /// The first value of `name`, or nil. Use `values(_:)` for fields that may repeat.
    package subscript(name: String) -> String? {
        firstIndex(named: name).map { value(at: $0) }
    }

    /// Every value of `name`, in order.
    package func values(_ name: String) -> [String] {
        var result: [String] = []
        var next = firstIndex(named: name)
        while let index = next {
            result.append(value(at: index))
            next = firstIndex(named: name, from: self.index(after: index))
        }
        return result
    }

    /// Whether at least one field is called `name`.
    package func contains(_ name: String) -> Bool {
        firstIndex(named: name) != nil
    }

    /// The comma-separated elements of every `name` field (RFC 9110 §5.6.1), trimmed of OWS,
    /// empty elements dropped. Only for list-valued fields such as `Connection`.
    package func listElements(_ name: String) -> [Substring] {
        values(name).flatMap { value in
            value.split(separator: ",").map { $0.trimmingOWS() }.filter { !$0.isEmpty }
        }
    }

    /// Whether the `name` list fields contain `token`, compared case-insensitively; on the
    /// bytes, without building the list.
    /// `Connection` (`close`, `keep-alive`, `upgrade`) and `Expect` (`100-continue`) are
    /// answered from the facts noted when the fields were appended, without a scan.
    package func listContains(_ name: String, token: String) -> Bool {
        var token = token
        var name = name
        return token.withUTF8 { token in
            let recorded = name.withUTF8 { name -> Bool? in
                guard let known = KnownName(name) else { return nil }
                let facts = self.facts
                guard facts.contains(known.presence) else { return false }
                return Facts.token(token, in: known).map { facts.contains($0) }
            }
            if let recorded { return recorded }
            var next = firstIndex(named: name)
            while let index = next {
                let found = withValueBytes(at: index) { value in
                    var found = false
                    Self.forEachListElement(value) { element in
                        if !found && Self.equalIgnoringCase(element, token) { found = true }
                    }
                    return found
                }
                if found { return true }
                next = firstIndex(named: name, from: self.index(after: index))
            }
            return false
        }
    }

    /// The index of the first field called `name`, or nil.
    package func firstIndex(named name: String) -> Index? {
        firstIndex(named: name, from: startIndex)
    }

    /// The index of the first `Host` or `Content-Length` field (the names whose first record
    /// is noted in the storage header), or nil: a bit test and a load. Callers that know the
    /// name they ask for use it instead of `firstIndex(named:)`, which first works out from the
    /// name's bytes whether it is a known one (~65 instructions a call; the proxy asks for
    /// `Host` of every request and `Content-Length` of every response).
    package func firstIndex(_ known: FirstRecordName) -> Index? {
        let name = known.knownName
        guard contains(name), let slot = Self.firstRecordSlot(name) else { return nil }
        return Index(offset: storage.withUnsafeBytes { Int(Self.load($0, at: slot)) })
    }

    /// The index of the first field at or after `start` called `name`, or nil. A known name
    /// (`KnownName`) that the facts say is absent is answered without a scan, and the first
    /// `Host` or `Content-Length` is read from the header (`firstRecordSlot`).
    package func firstIndex(named name: String, from start: Index) -> Index? {
        guard start.offset < storage.count else { return nil }
        // A native or literal name lends its bytes without the copy (a retain and release,
        // and a call) that `withUTF8` on a `var` costs; the lookups run several times per
        // proxied request.
        if let found = name.utf8.withContiguousStorageIfAvailable({
            firstIndex(named: $0, from: start)
        }) {
            return found
        }
        var name = name
        return name.withUTF8 { firstIndex(named: $0, from: start) }
    }

    /// `firstIndex(named:from:)` for the name's bytes.
    @inline(__always)
    private func firstIndex(named needle: UnsafeBufferPointer<UInt8>, from start: Index)
        -> Index?
    {
        if let known = KnownName(needle) {
            guard contains(known) else { return nil }
            if let slot = Self.firstRecordSlot(known) {
                let first = storage.withUnsafeBytes { Int(Self.load($0, at: slot)) }
                if start.offset <= first { return Index(offset: first) }
            }
        }
        return storage.withUnsafeBufferPointer { stored in
            let raw = UnsafeRawBufferPointer(stored)
            var offset = start.offset
            while offset < stored.count {
                let (names, values) = Self.record(raw, at: offset)
                // Most names differ in length: one compare each.
                if names.count == needle.count
                    && Self.equalIgnoringCase(
                        UnsafeBufferPointer(rebasing: stored[names]), needle)
                {
                    return Index(offset: offset)
                }
                offset = values.upperBound
            }
            return nil
        }
    }

    /// Whether field `index` is called `name` (ASCII case-insensitive).
    package func nameEquals(at index: Index, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { needle in
            withNameBytes(at: index) { Self.equalIgnoringCase($0, needle) }
        }
    }

    /// ASCII case-insensitive comparison without allocating; field names are ASCII tokens.
    package static func namesEqual(_ lhs: String, _ rhs: String) -> Bool {
        var lhs = lhs
        var rhs = rhs
        return lhs.withUTF8 { left in rhs.withUTF8 { right in equalIgnoringCase(left, right) } }
    }

    /// Byte-wise equality with ASCII letters folded to lower case (RFC 9110 §5.1).
    @inline(__always)
    package static func equalIgnoringCase(
        _ lhs: UnsafeBufferPointer<UInt8>, _ rhs: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for offset in 0..<lhs.count where lhs[offset] != rhs[offset] {
            guard asciiLower(lhs[offset]) == asciiLower(rhs[offset]) else { return false }
        }
        return true
    }

    @inline(__always)
    static func asciiLower(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// Calls `body` with each element of the comma-separated list `value` (RFC 9110 §5.6.1),
    /// trimmed of OWS, empty elements skipped.
    package static func forEachListElement(
        _ value: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count && value[end] != UInt8(ascii: ",") { end += 1 }
            var first = start
            var last = end
            while first < last && (value[first] == 0x20 || value[first] == 0x09) { first += 1 }
            while last > first && (value[last - 1] == 0x20 || value[last - 1] == 0x09) { last -= 1 }
            if first < last { body(UnsafeBufferPointer(rebasing: value[first..<last])) }
            start = end + 1
        }
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
