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
    private(set) var hasTransferEncoding = false

    /// Records `field` if it is one of the framing fields (names compare case-insensitively,
    /// RFC 9110 §5.1; the length is compared first, so most fields cost one integer compare).
    mutating func note(_ field: HTTPFields.Field) {
        let name = field.name
        switch name.utf8.count {
        case 4 where HTTPFields.namesEqual(name, "Host"):
            hostCount += 1
            if hostCount == 1 { hostIsMalformed = !Self.isSingleAuthority(field.value) }
        case 14 where HTTPFields.namesEqual(name, "Content-Length"):
            hasContentLength = true
        case 17 where HTTPFields.namesEqual(name, "Transfer-Encoding"):
            hasTransferEncoding = true
        default:
            break
        }
    }

    /// Whether `host` can be one authority: no SP, HTAB, `,` `/` `?` `#` `@` `\` (a list, a
    /// path or userinfo).
    /// (Over the contiguous bytes: iterating the `UTF8View` costs several times more.)
    static func isSingleAuthority(_ host: String) -> Bool {
        var host = host
        return host.withUTF8 { bytes in
            for byte in bytes {
                switch byte {
                case 0x20, 0x09, 0x2C, 0x2F, 0x3F, 0x23, 0x40, 0x5C: return false
                default: continue
                }
            }
            return true
        }
    }
}
