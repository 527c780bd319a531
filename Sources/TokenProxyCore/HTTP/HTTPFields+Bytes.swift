/// Byte-level access to fields, for hot paths that compare names and copy fields without
/// making a `String` of either (a proxy forwarding a head, the parser filling one).
///
/// The buffers passed to the closures point into the fields' own storage: valid only inside
/// the closure, never to be kept. Names are as received (any case); compare them with
/// `equalIgnoringCase(_:_:)` or `nameEquals(at:_:)`. Values have no surrounding OWS.
///
/// ```swift
/// var out: [UInt8] = []
/// head.fields.forEachField { index, name, value in
///     if !HTTPFields.equalIgnoringCase(name, hopByHopName) { head.fields.appendLine(at: index, to: &out) }
/// }
/// ```
extension HTTPFields {
    /// Calls `body` with the bytes of field `index`'s name.
    @inline(__always)
    package func withNameBytes<Result, Failure: Error>(
        at index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let range = nameRange(index)
        return try bytes.withUnsafeBufferPointer { (stored) throws(Failure) in
            try body(UnsafeBufferPointer(rebasing: stored[range]))
        }
    }

    /// Calls `body` with the bytes of field `index`'s value.
    @inline(__always)
    package func withValueBytes<Result, Failure: Error>(
        at index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let range = valueRange(index)
        return try bytes.withUnsafeBufferPointer { (stored) throws(Failure) in
            try body(UnsafeBufferPointer(rebasing: stored[range]))
        }
    }

    /// Calls `body` with each field's index, name bytes and value bytes, in order; one pass
    /// over the storage, no `String`.
    package func forEachField<Failure: Error>(
        _ body: (
            _ index: Int, _ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>
        ) throws(Failure) -> Void
    ) throws(Failure) {
        try bytes.withUnsafeBufferPointer { (stored) throws(Failure) in
            try ends.withUnsafeBufferPointer { (ends) throws(Failure) in
                var start = 0
                for index in 0..<ends.count {
                    let nameEnd = Int(ends[index].nameEnd)
                    let valueEnd = Int(ends[index].valueEnd)
                    try body(
                        index, UnsafeBufferPointer(rebasing: stored[start..<nameEnd]),
                        UnsafeBufferPointer(rebasing: stored[nameEnd..<valueEnd]))
                    start = valueEnd
                }
            }
        }
    }

    /// Appends field `index` as a wire line, `name: value` CRLF (RFC 9112 §5), to `output`:
    /// two copies of stored bytes. The field is written as stored; validate built fields
    /// first (`firstInvalidField()`): parsed ones are valid.
    package func appendLine(at index: Int, to output: inout [UInt8]) {
        let names = nameRange(index)
        let values = valueRange(index)
        bytes.withUnsafeBufferPointer { stored in
            output.append(contentsOf: UnsafeBufferPointer(rebasing: stored[names]))
            output.append(0x3A)
            output.append(0x20)
            output.append(contentsOf: UnsafeBufferPointer(rebasing: stored[values]))
            output.append(0x0D)
            output.append(0x0A)
        }
    }

    /// Appends every field as wire lines to `output` (see `appendLine(at:to:)`).
    package func appendLines(to output: inout [UInt8]) {
        for index in 0..<count { appendLine(at: index, to: &output) }
    }

    /// Adds a field at the end from bytes (the parser's path: the line's name and trimmed
    /// value, copied once). The bytes are stored as they are, not validated here.
    package mutating func append(
        name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>
    ) {
        bytes.append(contentsOf: name)
        let nameEnd = UInt32(truncatingIfNeeded: bytes.count)
        bytes.append(contentsOf: value)
        ends.append(Ends(nameEnd: nameEnd, valueEnd: UInt32(truncatingIfNeeded: bytes.count)))
    }
}
