import TokenProxyCore

/// Which shape of token answer the client asked for: `Accept: text/plain` (and not
/// `application/json` first) selects the bare token, anything else the JSON.
///
/// Decided on the field's bytes where they are stored: most clients send `Accept` (curl's
/// `*/*`), and making a `String` of it, lowercasing it and searching it with Foundation cost
/// more than the rest of a cached token's answer.
extension TokenAPI {
    /// For the first `Accept` field of `fields` (none: JSON).
    static func prefersText(_ fields: HTTPFields) -> Bool {
        // As many field lines as known names present (`HTTPFields+Facts`, a bit each): every
        // line is one of those (`Host`, …), so there is no `Accept` to look for. A client that
        // sends only `Host` is answered without a scan by name (~120 instructions).
        if fields.count <= (fields.facts.rawValue & knownNamePresence).nonzeroBitCount {
            return false
        }
        guard let index = fields.firstIndex(named: "Accept") else { return false }
        return fields.withValueBytes(at: index) { prefersText(UnsafeRawBufferPointer($0)) }
    }

    /// The presence bits of every known name in `HTTPFields.Facts`.
    static let knownNamePresence = HTTPFields.KnownName.allCases.reduce(UInt32(0)) {
        $0 | $1.presence.rawValue
    }

    /// For an `Accept` value given as text (nil: none, JSON).
    static func prefersText(_ accept: String?) -> Bool {
        guard var accept else { return false }
        return accept.withUTF8 { prefersText(UnsafeRawBufferPointer($0)) }
    }

    /// For an `Accept` value's bytes: media types compare case-insensitively (RFC 9110
    /// §8.3.1), so ASCII letters are folded; the first mention of each type decides.
    static func prefersText(_ value: UnsafeRawBufferPointer) -> Bool {
        guard let text = firstOffset(of: "text/plain", in: value) else { return false }
        guard let json = firstOffset(of: "application/json", in: value) else { return true }
        return text < json
    }

    /// Where `needle` (lowercase ASCII) first occurs in `haystack`, ignoring ASCII case.
    private static func firstOffset(of needle: StaticString, in haystack: UnsafeRawBufferPointer)
        -> Int?
    {
        needle.withUTF8Buffer { needle in
            guard haystack.count >= needle.count else { return nil }
            for start in 0...(haystack.count - needle.count) {
                var offset = 0
                while offset < needle.count
                    && haystack[start + offset] | Self.asciiCaseBit(haystack[start + offset])
                        == needle[offset]
                {
                    offset += 1
                }
                if offset == needle.count { return start }
            }
            return nil
        }
    }

    /// 0x20 for an ASCII upper-case letter (OR-ing it in lowercases the letter), else 0.
    @inline(__always)
    private static func asciiCaseBit(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? 0x20 : 0
    }
}
