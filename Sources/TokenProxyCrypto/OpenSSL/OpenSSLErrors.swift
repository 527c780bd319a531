internal import COpenSSL

/// The thread-local OpenSSL error queue, read and emptied in one place.
///
/// Every failing libcrypto call leaves one or more entries on the queue of the calling thread;
/// leaving them there would attach stale reasons to the next, unrelated failure on that thread.
enum OpenSSLErrors {
    /// Empties the queue and returns its entries joined with "; " (oldest first), or
    /// "no detail from OpenSSL" when it was empty. OpenSSL's reason strings name functions and
    /// reasons, never key material. The corresponding C functions are `ERR_get_error` and
    /// `ERR_error_string_n`.
    static func drain() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            // Keep a bounded number: a pathological queue should not produce a huge message.
            if reasons.count < 8 {
                var buffer = [CChar](repeating: 0, count: 256)
                buffer.withUnsafeMutableBufferPointer {
                    ERR_error_string_n(code, $0.baseAddress, $0.count)
                }
                reasons.append(
                    String(
                        decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                        as: UTF8.self))
            }
        }
        return reasons.isEmpty ? "no detail from OpenSSL" : reasons.joined(separator: "; ")
    }

    /// Empties the queue without reading it, after a call whose failure is an expected answer
    /// (a signature that does not verify). The corresponding C function is `ERR_clear_error`.
    static func clear() {
        ERR_clear_error()
    }

    /// A `CryptoError.openSSL` for `operation` carrying the drained queue.
    static func error(_ operation: String) -> CryptoError {
        .openSSL(operation: operation, detail: drain())
    }
}
