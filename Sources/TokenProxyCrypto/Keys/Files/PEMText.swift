/// Byte-level helpers for looking at PEM text without turning it into a `String` (which could
/// not be wiped).
enum PEMText {
    /// True when `needle` (ASCII) occurs in `haystack`.
    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, haystack.count >= pattern.count else { return false }
        var start = 0
        while start + pattern.count <= haystack.count {
            var matched = true
            for offset in 0..<pattern.count where haystack[start + offset] != pattern[offset] {
                matched = false
                break
            }
            if matched { return true }
            start += 1
        }
        return false
    }

    /// PKCS#8 `ENCRYPTED PRIVATE KEY` or a traditional PEM block with an encryption header
    /// (RFC 1421 §4.6.1.1 `Proc-Type: 4,ENCRYPTED`).
    static func isEncrypted(_ pem: UnsafeRawBufferPointer) -> Bool {
        contains(pem, "BEGIN ENCRYPTED PRIVATE KEY") || contains(pem, "Proc-Type: 4,ENCRYPTED")
    }
}
