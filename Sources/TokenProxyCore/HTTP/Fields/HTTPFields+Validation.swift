/// Byte-level syntax checks shared by the parser (what we accept) and the client (what we
/// send), so both sides agree on what a valid name or value is.
extension HTTPFields {
    /// Whether `byte` is a `tchar` (RFC 9110 §5.6.2):
    /// `"!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
    /// / DIGIT / ALPHA`.
    /// (Two 64-bit masks, one bit per ASCII byte: no branch per character class, no table to
    /// load lazily.)
    @inline(__always)
    package static func isTokenByte(_ byte: UInt8) -> Bool {
        let mask: UInt64 = byte < 64 ? 0x03FF_6CFA_0000_0000 : 0x57FF_FFFF_C7FF_FFFE
        return byte < 128 && (mask >> UInt64(byte & 63)) & 1 == 1
    }

    /// Whether `bytes` form a `token` (RFC 9110 §5.6.2): one or more tchars. Field names and
    /// methods are tokens.
    package static func isToken(_ bytes: some Collection<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy(isTokenByte)
    }

    /// Whether `name` is a valid field name (RFC 9110 §5.1: `field-name = token`).
    /// (Over the contiguous bytes: iterating a `UTF8View` costs several times more, and the
    /// proxy checks every field it forwards.)
    package static func isValidName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { !$0.isEmpty && $0.allSatisfy(isTokenByte) }
    }

    /// Whether `byte` may appear inside a field value (RFC 9110 §5.5): VCHAR, obs-text, SP or
    /// HTAB. CR, LF and NUL are "invalid and dangerous"; we also refuse the other control
    /// characters, which §5.5 declares invalid and only tolerates for robustness.
    @inline(__always)
    package static func isValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    /// Whether `value` is a valid field value as it would go on the wire: allowed bytes only and
    /// no leading or trailing SP/HTAB (those would be stripped as OWS by the receiver, so
    /// sending them means the peer sees a different value than we meant).
    package static func isValidValue(_ value: String) -> Bool {
        var value = value
        return value.withUTF8(isValidValue)
    }

    /// `isValidValue` over bytes.
    package static func isValidValue(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if let first = bytes.first, first == 0x20 || first == 0x09 { return false }
        if let last = bytes.last, last == 0x20 || last == 0x09 { return false }
        return HTTPByteScan.allValueBytes(bytes)
    }

    /// Whether `target` is a plausible request-target for the wire: non-empty, visible ASCII
    /// only (RFC 9112 §3.2 forms are built from URI characters; anything else, notably SP, CR,
    /// LF, would break the request line).
    package static func isValidRequestTarget(_ target: some Collection<UInt8>) -> Bool {
        !target.isEmpty && target.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// `isValidRequestTarget` over a string's contiguous bytes (the generic form is not
    /// specialized across modules; this one runs for every proxied request).
    package static func isValidRequestTarget(_ target: String) -> Bool {
        var target = target
        return target.withUTF8 { !$0.isEmpty && $0.allSatisfy { $0 > 0x20 && $0 < 0x7F } }
    }

    /// The first field whose name or value is invalid, or nil when all are fine. Checks the
    /// stored bytes; only a bad field is made into Strings.
    package func firstInvalidField() -> Field? {
        var bad: Index?
        forEachField { index, name, value in
            if bad == nil && !(Self.isToken(name) && Self.isValidValue(value)) { bad = index }
        }
        return bad.map { self[$0] }
    }
}
