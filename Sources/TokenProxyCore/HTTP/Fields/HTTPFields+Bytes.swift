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
///     if !HTTPFields.equalIgnoringCase(name, hopByHop) { head.fields.appendLine(at: index, to: &out) }
/// }
/// ```
// The two `forEachField` overloads differ only in whether the body throws, on purpose: a
// caller's trailing closure picks the non-generic one when it does not throw.
// swift-format-ignore: AmbiguousTrailingClosureOverload
extension HTTPFields {
    /// Calls `body` with the bytes of field `index`'s name.
    ///
    /// `@inlinable` (like the other accessors here): generic, so from another module it was
    /// not specialized and ran a generic `Array.withUnsafeBufferPointer` and a thunk, ~340
    /// instructions a call where inlined it is a few loads (callgrind, per proxied request
    /// the router's `Host` and the response framing's `Content-Length`).
    @inlinable @inline(__always)
    package func withNameBytes<Result, Failure: Error>(
        at index: Index, _ body: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try storage.withUnsafeBufferPointer { (stored) throws(Failure) in
            let range = Self.record(UnsafeRawBufferPointer(stored), at: index.offset).name
            return try body(UnsafeBufferPointer(rebasing: stored[range]))
        }
    }

    /// Calls `body` with the bytes of field `index`'s value.
    @inlinable @inline(__always)
    package func withValueBytes<Result, Failure: Error>(
        at index: Index, _ body: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try storage.withUnsafeBufferPointer { (stored) throws(Failure) in
            let range = Self.record(UnsafeRawBufferPointer(stored), at: index.offset).value
            return try body(UnsafeBufferPointer(rebasing: stored[range]))
        }
    }

    /// Calls `body` with each field's index, name bytes and value bytes, in order; one pass
    /// over the storage, no `String`.
    @inlinable
    package func forEachField<Failure: Error>(
        _ body: (
            _ index: Index, _ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>
        ) throws(Failure) -> Void
    ) throws(Failure) {
        try storage.withUnsafeBufferPointer { (stored) throws(Failure) in
            let raw = UnsafeRawBufferPointer(stored)
            var offset = storage.isEmpty ? 0 : Self.headerBytes
            while offset < stored.count {
                let (name, value) = Self.record(raw, at: offset)
                try body(
                    Index(offset: offset), UnsafeBufferPointer(rebasing: stored[name]),
                    UnsafeBufferPointer(rebasing: stored[value]))
                offset = value.upperBound
            }
        }
    }

    /// `forEachField` for a body that does not throw. Not generic: a caller in another module
    /// (the proxy's head rewriting, several loops per request) calls it directly; the generic
    /// one is not specialized across modules, and ran a generic `withUnsafeBufferPointer` and
    /// a thunk per field. Overload resolution picks this one for non-throwing closures.
    @inlinable
    package func forEachField(
        _ body: (
            _ index: Index, _ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>
        ) -> Void
    ) {
        storage.withUnsafeBufferPointer { UnsafeStorage(stored: $0).forEachField(body) }
    }

    /// The stored bytes, for a caller that would otherwise copy the fields to read them: the
    /// proxy writing a head, whose fields it reaches through the head's box (a class), where
    /// each read, and each read inside a closure, was a copy of the storage, an atomic retain
    /// and release. Taking the pointer is a load with nothing in between, so nothing is
    /// copied.
    ///
    /// Unsafe: the pointer is valid only while these fields' storage lives unchanged. The
    /// caller must hold their owner (a head passed to it, which holds its box, which holds
    /// the fields) and must not change the fields or give the head back to the parser that
    /// made it (which refills a box only it holds) while it uses the result.
    @inlinable
    package var unsafeStorage: UnsafeStorage {
        // The buffer points into the array's heap storage (a native `[UInt8]`, never bridged
        // on Linux), not to a temporary: it stays valid after the closure for as long as
        // that storage does (the contract above).
        storage.withUnsafeBufferPointer { UnsafeStorage(stored: $0) }
    }

    /// Fields' stored bytes, read in place (see `unsafeStorage` for when they are valid).
    /// `public` with `package` members for the inlinable accessors, as `HTTPFields`.
    public struct UnsafeStorage {
        @usableFromInline let stored: UnsafeBufferPointer<UInt8>

        @inlinable
        init(stored: UnsafeBufferPointer<UInt8>) { self.stored = stored }

        /// As `HTTPFields.factBits`.
        @inlinable
        package var factBits: UInt32 {
            stored.isEmpty
                ? 0 : HTTPFields.load(UnsafeRawBufferPointer(stored), at: HTTPFields.factsOffset)
        }

        /// The value bytes of the first `Content-Length` field, or nil without one: a load of
        /// the first-record offset noted when the field was appended (0: none), as
        /// `HTTPFields.firstIndex(.contentLength)` reads it.
        @inlinable
        package var firstContentLengthValue: UnsafeBufferPointer<UInt8>? {
            guard !stored.isEmpty else { return nil }
            let raw = UnsafeRawBufferPointer(stored)
            let offset = Int(HTTPFields.load(raw, at: HTTPFields.firstContentLengthSlot))
            guard offset != 0 else { return nil }
            return UnsafeBufferPointer(rebasing: stored[HTTPFields.record(raw, at: offset).value])
        }

        /// As `HTTPFields.forEachField`.
        @inlinable @inline(__always)
        package func forEachField(
            _ body: (
                _ index: Index, _ name: UnsafeBufferPointer<UInt8>,
                _ value: UnsafeBufferPointer<UInt8>
            ) -> Void
        ) {
            let raw = UnsafeRawBufferPointer(stored)
            var offset = stored.isEmpty ? 0 : HTTPFields.headerBytes
            while offset < stored.count {
                let (name, value) = HTTPFields.record(raw, at: offset)
                body(
                    Index(offset: offset), UnsafeBufferPointer(rebasing: stored[name]),
                    UnsafeBufferPointer(rebasing: stored[value]))
                offset = value.upperBound
            }
        }
    }

    /// Appends field `index` as a wire line, `name: value` CRLF (RFC 9112 §5), to `output`:
    /// two copies of stored bytes. The field is written as stored; validate built fields
    /// first (`firstInvalidField()`): parsed ones are valid.
    package func appendLine(at index: Index, to output: inout [UInt8]) {
        storage.withUnsafeBufferPointer { stored in
            let (name, value) = Self.record(UnsafeRawBufferPointer(stored), at: index.offset)
            output.append(contentsOf: UnsafeBufferPointer(rebasing: stored[name]))
            output.append(0x3A)
            output.append(0x20)
            output.append(contentsOf: UnsafeBufferPointer(rebasing: stored[value]))
            output.append(0x0D)
            output.append(0x0A)
        }
    }

    /// Appends every field as wire lines to `output` (see `appendLine(at:to:)`).
    package func appendLines(to output: inout [UInt8]) {
        for index in indices { appendLine(at: index, to: &output) }
    }
}
