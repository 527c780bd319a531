internal import COpenSSL

/// Reading OpenSSL's per-thread error queue.
///
/// OpenSSL reports *why* a call failed by pushing entries onto a queue that belongs to the
/// calling thread. Entries left there would be blamed on the next, unrelated call on this
/// thread, so every failure path drains the whole queue, and every call whose outcome we check
/// with `SSL_get_error` starts from an empty queue.
enum OpenSSLError {
    /// Removes every entry from the calling thread's queue and joins their texts with "; "
    /// (oldest first), for example
    /// `error:0A000086:SSL routines::certificate verify failed`. Empty if the queue was empty.
    ///
    /// The corresponding C functions are `ERR_get_error` and `ERR_error_string_n`.
    static func drainQueue() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            guard code != 0 else { break }
            // Bounded: a misbehaving library could otherwise fill the message without end.
            guard messages.count < 16 else { continue }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(
                String(
                    decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self
                ))
        }
        return messages.joined(separator: "; ")
    }

    /// `drainQueue()`, or `fallback` when the queue held nothing.
    static func drainQueue(or fallback: @autoclosure () -> String) -> String {
        let detail = drainQueue()
        return detail.isEmpty ? fallback() : detail
    }

    /// Empties the calling thread's queue before a call whose outcome `SSL_get_error` will judge.
    ///
    /// The corresponding C function is `ERR_clear_error`.
    static func clearQueue() {
        ERR_clear_error()
    }

    /// Whether the calling thread's queue is empty.
    static var queueIsEmpty: Bool { ERR_peek_error() == 0 }

    /// The reason code of the newest queued error (0 when the queue is empty), left queued.
    static var lastQueuedReason: Int32 {
        let code = ERR_peek_last_error()
        return code == 0 ? 0 : ERR_GET_REASON(code)
    }

    /// Whether the oldest queued error says the peer closed TCP without a TLS close_notify.
    static func queueHoldsUnexpectedEOF() -> Bool {
        let code = ERR_peek_error()
        return code != 0 && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING
    }
}
