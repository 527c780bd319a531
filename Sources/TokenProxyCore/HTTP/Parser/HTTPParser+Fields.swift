/// A head's field lines, noted in place and copied into `HTTPFields` once the head is complete.
///
/// Each field line is validated as it arrives (`parseFieldLine`), but instead of being copied
/// into the fields record by record (an `Array.append` per line, with its capacity and
/// uniqueness checks: ~8k instructions per proxied request for two heads), only where its name
/// and value lie in `buffer` is noted (`FieldSpan`). The buffer keeps those bytes: compaction
/// never drops bytes from `headStart` on while spans are pending, which holds at most
/// `maxHeadBytes`. When the empty line arrives the whole `HTTPFields` storage is written in one
/// pass into one buffer of the exact size, so the fields are byte for byte what appending each
/// line would have made (same records, same facts: ordered, duplicates kept).
///
/// The storage written is the previous head's when nothing else holds it any more (the
/// handler dropped the last request, the proxy forwarded the last response): a kept-alive
/// connection then parses head after head without allocating (see `recycle`).
extension HTTPParser {
    /// Where one field line's name and value lie, as offsets from `headStart` in `buffer`.
    struct FieldSpan: Sendable {
        var nameStart: UInt32
        var nameCount: UInt32
        var valueStart: UInt32
        var valueCount: UInt32
    }

    /// Consumes the head's field lines that have arrived, each parsed (`parseFieldLine`) and
    /// noted (see the extension's comment): in `framing` for the checks after the empty line,
    /// in `headFacts` for the fields' facts, as a span for the copy. True once the empty line
    /// that ends the head is consumed, false when the next line's LF has not arrived.
    mutating func parseFieldLines() throws(HTTPParseError) -> Bool {
        while true {
            switch try nextFieldLine() {
            case .field(let span):
                // Stored out here, not in `nextFieldLine`'s closure: an array store there may
                // free the old storage (code the compiler cannot see), so it kept `buffer`
                // alive around the closure with a retain and a release per head.
                // The array keeps the last head's spans: overwritten, not removed (an `Array`
                // `removeAll` is a generic `replaceSubrange`, ~80 instructions).
                if fieldCount < fieldSpans.count {
                    fieldSpans[fieldCount] = span
                } else {
                    fieldSpans.append(span)
                }
                fieldCount += 1
            case .headEnd: return true
            case .needMore: return false
            }
        }
    }

    /// What `nextFieldLine` found.
    enum FieldLineOutcome {
        /// A field line, parsed and noted but for its span.
        case field(FieldSpan)
        /// The empty line that ends the head.
        case headEnd
        /// No whole line.
        case needMore
    }

    /// Consumes the next head line: a field line, parsed and noted (but for storing its span),
    /// or the empty line ending the head.
    ///
    /// What `scanLine` does per line (LF eight bytes at a time from where the last search
    /// stopped, the head's byte limit, CRLF only) runs here on the buffer's pointer, and the
    /// line goes to the parse as it is found, without a range or a second access. A field line
    /// is not searched for a CR: one holding a CR never parses (a CR is neither a tchar nor a
    /// value byte), so `parseFieldLine` looks for it only when the parse fails
    /// (`fieldLineError`), and the error is the same as when every line was searched.
    @inline(__always)
    private mutating func nextFieldLine() throws(HTTPParseError) -> FieldLineOutcome {
        let end = buffer.count
        return try buffer.withUnsafeBufferPointer {
            (bytes) throws(HTTPParseError) -> FieldLineOutcome in
            let lineStart = readIndex
            let lineFeed = HTTPByteScan.firstIndex(
                of: 0x0A, in: bytes, from: lineScanIndex, to: end)
            // RFC 9112 §2.2 and the head limit, exactly as `scanLine` checks them.
            let limit = limits.maxHeadBytes - partial.bytes
            guard lineFeed < end else {
                lineScanIndex = end
                if end - lineStart > limit { throw .headTooLarge }
                return .needMore
            }
            let lineEnd = lineFeed + 1
            if lineEnd - lineStart > limit { throw .headTooLarge }
            // Sound: `lineFeed` < `end`, so the buffer has a base address and every index
            // below is inside it.
            let base = bytes.baseAddress!
            guard lineFeed > lineStart, base[lineFeed - 1] == 0x0D else {
                throw .invalidLineEnding
            }
            readIndex = lineEnd
            lineScanIndex = lineEnd
            partial.bytes += lineEnd - lineStart
            let contentCount = lineFeed - 1 - lineStart
            if contentCount == 0 { return .headEnd }

            if fieldCount == 0 { headStart = lineStart }
            let (name, value) = try Self.parseFieldLine(
                UnsafeBufferPointer(start: base + lineStart, count: contentCount))
            guard fieldCount < limits.maxFieldCount else { throw .tooManyFields }
            // Most names are none of the known ones: nothing to note for them.
            if let known = HTTPFields.KnownName(name) {
                partial.framing.note(known, value: value)
                headFacts.formUnion(HTTPFields.Facts.noting(known, value: value))
            }
            headFieldBytes += name.count + value.count
            // Offsets from `headStart`: the name and value point into `bytes`.
            let nameStart = lineStart - headStart
            let valueStart = value.isEmpty ? nameStart : value.baseAddress! - base - headStart
            return .field(
                FieldSpan(
                    nameStart: UInt32(truncatingIfNeeded: nameStart),
                    nameCount: UInt32(truncatingIfNeeded: name.count),
                    valueStart: UInt32(truncatingIfNeeded: valueStart),
                    valueCount: UInt32(truncatingIfNeeded: value.count)))
        }
    }

    /// The noted field lines as `HTTPFields` (empty when there were none), written into
    /// `reusing`'s storage when it is the only holder of a buffer large enough and small
    /// enough to keep, into a new one otherwise. Forgets the spans.
    mutating func takeHeadFields(reusing old: inout HTTPFields) -> HTTPFields {
        guard fieldCount > 0 else { return HTTPFields() }
        let total =
            HTTPFields.headerBytes + HTTPFields.recordHeaderBytes * fieldCount
            + headFieldBytes
        var storage: [UInt8] = []
        swap(&storage, &old.storage)
        let facts = headFacts.rawValue
        buffer.withUnsafeBytes { bytes in
            fieldSpans.withUnsafeBufferPointer { all in
                let spans = UnsafeBufferPointer(rebasing: all[..<fieldCount])
                let source = bytes.baseAddress! + headStart
                if storage.capacity >= total && storage.capacity <= Limits.HTTP.retainedFieldBytes {
                    // Resized in place (no allocation while nothing else holds the storage;
                    // copy-on-write keeps any other holder's fields intact), then overwritten.
                    // A client repeating its request has the same size every time.
                    if storage.count != total {
                        storage.replaceSubrange(
                            0..<storage.count, with: repeatElement(0, count: total))
                    }
                    storage.withUnsafeMutableBytes { target in
                        Self.writeFields(spans, from: source, facts: facts, to: target.baseAddress!)
                    }
                } else {
                    storage = [UInt8](unsafeUninitializedCapacity: total) { target, count in
                        Self.writeFields(
                            spans, from: source, facts: facts,
                            to: UnsafeMutableRawPointer(target.baseAddress!))
                        count = total
                    }
                }
            }
        }
        fieldCount = 0
        headFieldBytes = 0
        headFacts = []
        var fields = HTTPFields()
        fields.storage = storage
        return fields
    }

    /// The request head of the partial head's start line and the noted field lines, in the
    /// last head's box when nothing else holds it any more (the handler is done with it), in
    /// a new one otherwise. The parser keeps the box for the next head: a handler that changes
    /// the head it got copies the box first (`HTTPRequestHead.unique()`), so it never sees the
    /// parser's reuse, and the box holds what the parser put there.
    ///
    /// The method and target move into the box by `swap` (the box's old ones go to the
    /// partial head, released when it is reset): no retain, and a target equal to the box's
    /// (`reusesTarget`) is not touched at all.
    mutating func takeRequestHead() -> HTTPRequestHead {
        var box = recycledRequest.take()
        let head: HTTPRequestHead
        // Moved out of `box` (`take()`), not bound as a copy: the copy was a retain, and
        // `box` a release at the end.
        if isKnownUniquelyReferenced(&box), let box = box.take() {
            var recycled = HTTPFields()
            swap(&recycled, &box.fields)
            box.fields = takeHeadFields(reusing: &recycled)
            swap(&box.method, &partial.method)
            if !partial.reusesTarget { swap(&box.target, &partial.target) }
            box.version = partial.version
            head = HTTPRequestHead(storage: box)
        } else {
            var none = HTTPFields()
            // A target equal to the last box's is that box's String (the box is still held).
            let target = partial.reusesTarget ? box?.target ?? "" : partial.target
            head = HTTPRequestHead(
                method: partial.method, target: target, version: partial.version,
                fields: takeHeadFields(reusing: &none))
        }
        recycledRequest = head.storage
        return head
    }

    /// The response head of the partial head's status line and the noted field lines, in the
    /// last response's box when nothing else holds it any more, in a new one otherwise (see
    /// `takeRequestHead`).
    mutating func takeResponseHead() -> HTTPResponseHead {
        var box = recycledResponse.take()
        let head: HTTPResponseHead
        // Moved out of `box` (`take()`), not bound as a copy: the copy was a retain, and
        // `box` a release at the end.
        if isKnownUniquelyReferenced(&box), let box = box.take() {
            var recycled = HTTPFields()
            swap(&recycled, &box.fields)
            box.fields = takeHeadFields(reusing: &recycled)
            box.version = partial.version
            box.status = partial.status
            swap(&box.reason, &partial.reason)
            head = HTTPResponseHead(storage: box)
        } else {
            var none = HTTPFields()
            head = HTTPResponseHead(
                version: partial.version, status: partial.status, reason: partial.reason,
                fields: takeHeadFields(reusing: &none))
        }
        // Kept for the next head unless the consumer gives heads back (`recycle(_:)`).
        if !responseHeadsComeBack { recycledResponse = head.storage }
        return head
    }

    /// Writes the `HTTPFields` storage for `spans` (count, facts, first-record offsets, then
    /// one record per span: name length, value length, name bytes, value bytes; see
    /// `HTTPFields.storage`).
    ///
    /// The caller sized `target` for exactly these records, and `source` is the head's first
    /// field line in the parser's buffer, which holds every span's bytes.
    @inline(__always)
    private static func writeFields(
        _ spans: UnsafeBufferPointer<FieldSpan>, from source: UnsafeRawPointer, facts: UInt32,
        to target: UnsafeMutableRawPointer
    ) {
        var firstRecords: UInt64 = 0
        target.storeBytes(of: UInt32(truncatingIfNeeded: spans.count).littleEndian, as: UInt32.self)
        target.storeBytes(
            of: facts.littleEndian, toByteOffset: HTTPFields.factsOffset, as: UInt32.self)
        var offset = HTTPFields.headerBytes
        for span in spans {
            target.storeBytes(
                of: span.nameCount.littleEndian, toByteOffset: offset, as: UInt32.self)
            target.storeBytes(
                of: span.valueCount.littleEndian, toByteOffset: offset + 4, as: UInt32.self)
            offset += HTTPFields.recordHeaderBytes
            let nameCount = Int(span.nameCount)
            let valueCount = Int(span.valueCount)
            // `Host` and `Content-Length` have first-record slots: other lengths are neither.
            if nameCount == 4 || nameCount == 14 {
                noteFirstRecord(
                    &firstRecords, at: offset - HTTPFields.recordHeaderBytes,
                    name: source + Int(span.nameStart), count: nameCount)
            }
            (target + offset).copyMemory(from: source + Int(span.nameStart), byteCount: nameCount)
            offset += nameCount
            if valueCount > 0 {
                (target + offset).copyMemory(
                    from: source + Int(span.valueStart), byteCount: valueCount)
                offset += valueCount
            }
        }
        target.storeBytes(of: firstRecords.littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// Sets the first-record slot (`HTTPFields.firstRecordSlot`) of the field name at `name`
    /// in `firstRecords` (the header's two words at offset 8) to `record`, if it has one and
    /// it is not set yet. (Noted here rather than in `parseFieldLines`: there it kept that
    /// function's closure from being inlined, +250 instructions per proxied request.)
    @inline(never)  // Keeps `writeFields` small enough to be inlined into its caller.
    private static func noteFirstRecord(
        _ firstRecords: inout UInt64, at record: Int, name: UnsafeRawPointer, count: Int
    ) {
        // Sound: `name` points into the parser's `[UInt8]` buffer, bound to `UInt8`.
        let name = UnsafeBufferPointer(
            start: name.assumingMemoryBound(to: UInt8.self), count: count)
        guard let known = HTTPFields.KnownName(name), let slot = HTTPFields.firstRecordSlot(known)
        else { return }
        let shift = UInt64((slot - 8) * 8)
        if (firstRecords >> shift) & 0xFFFF_FFFF == 0 {
            firstRecords |= UInt64(truncatingIfNeeded: record) << shift
        }
    }
}
