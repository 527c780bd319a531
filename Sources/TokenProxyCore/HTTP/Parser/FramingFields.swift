/// What a message head says about its own framing, noted by the parser as each field line is
/// parsed (the line's name is at hand then), so that the checks made once the head is complete
/// — one valid `Host` (RFC 9112 §3.2), `Content-Length` against `Transfer-Encoding` (§6) —
/// search the field list by name only for fields that are actually present. A typical request
/// carries none but `Host`, and then nothing is looked up at all.
struct FramingFields: Sendable {
    /// `Host` lines seen.
    private(set) var hostCount = 0
    /// Whether the first `Host` value holds a character no single authority contains.
    private(set) var hostIsMalformed = false
    private(set) var hasContentLength = false
    /// `Content-Length` lines seen.
    private(set) var contentLengthCount = 0
    /// The first `Content-Length` value when it is a plain `1*DIGIT` that fits an `Int`, read
    /// while its bytes were at hand: with one such line that is the body length, and the
    /// parser does not look the field up again (any other case takes the careful path,
    /// `HTTPParser.contentLength(in:isRequest:)`, which tells the errors apart).
    private(set) var plainContentLength: Int?
    private(set) var hasTransferEncoding = false

    /// Records the field `name: value` if it is one of the framing fields (names compare
    /// case-insensitively, RFC 9110 §5.1; the length is compared first, so most fields cost
    /// one integer compare).
    mutating func note(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        note(HTTPFields.KnownName(name), value: value)
    }

    /// Records a field whose name the caller classified already (the parser does it once per
    /// line, for these checks and for the fields' facts).
    @inline(__always)
    mutating func note(_ known: HTTPFields.KnownName?, value: UnsafeBufferPointer<UInt8>) {
        switch known {
        case .host:
            hostCount += 1
            if hostCount == 1 { hostIsMalformed = !Self.isSingleAuthority(value) }
        case .contentLength:
            hasContentLength = true
            contentLengthCount += 1
            if contentLengthCount == 1 { plainContentLength = Self.plainDecimal(value) }
        case .transferEncoding:
            hasTransferEncoding = true
        default:
            break
        }
    }

    /// `note(name:value:)` for a `Field`.
    mutating func note(_ field: HTTPFields.Field) {
        var name = field.name
        var value = field.value
        name.withUTF8 { name in value.withUTF8 { value in note(name: name, value: value) } }
    }

    /// `1*DIGIT` without sign, space, list or overflow (RFC 9110 §8.6), or nil.
    static func plainDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - 0x30))
            guard !overflow1 && !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// Whether `host` can be one authority: no SP, HTAB, `,` `/` `?` `#` `@` `\` (a list, a
    /// path or userinfo).
    static func isSingleAuthority(_ host: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in host {
            switch byte {
            case 0x20, 0x09, 0x2C, 0x2F, 0x3F, 0x23, 0x40, 0x5C: return false
            default: continue
            }
        }
        return true
    }

    /// `isSingleAuthority` for a string.
    static func isSingleAuthority(_ host: String) -> Bool {
        var host = host
        return host.withUTF8 { isSingleAuthority($0) }
    }
}
