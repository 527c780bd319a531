internal import COpenSSL
import TokenProxyCore

/// The calling thread's OpenSSL error queue, drained into one value.
///
/// OpenSSL reports *why* a call failed by pushing entries onto a queue that belongs to the
/// calling thread. Entries left there would be blamed on the next, unrelated call on this
/// thread, so every failure path drains the whole queue (keys, signers and TLS alike), and every
/// call whose outcome `SSL_get_error` judges starts from an empty queue. OpenSSL's texts name
/// libraries, functions and reasons, never key material.
package struct OpenSSLErrorStack: Sendable, Equatable, CustomStringConvertible {
    /// One queue entry: OpenSSL's packed code and its text, for example
    /// `error:0A000086:SSL routines::certificate verify failed`.
    package struct Entry: Sendable, Equatable {
        /// The packed error code (`ERR_get_error`).
        package let code: UInt
        /// `ERR_error_string_n` of `code`.
        package let text: String

        /// The reason part of `code` (`ERR_GET_REASON`), e.g. `SSL_R_UNEXPECTED_EOF_WHILE_READING`.
        var reason: Int32 { ERR_GET_REASON(code) }
    }

    /// The text of an empty stack: a failure OpenSSL gave no reason for.
    package static let emptyText = "no detail from OpenSSL"

    /// The entries, oldest first.
    package let entries: [Entry]

    package init(entries: [Entry]) {
        self.entries = entries
    }

    /// Empties the calling thread's queue into a stack (oldest entry first).
    ///
    /// The corresponding C functions are `ERR_get_error` and `ERR_error_string_n`.
    package static func drain() -> OpenSSLErrorStack {
        drain { ERR_get_error() }
    }

    /// `drain()` over any source of codes that returns 0 when empty (tests feed their own).
    static func drain(from next: () -> UInt) -> OpenSSLErrorStack {
        var entries: [Entry] = []
        while true {
            let code = next()
            guard code != 0 else { break }
            guard entries.count < Limits.OpenSSL.maxErrorEntries else { continue }
            var buffer = [CChar](repeating: 0, count: 256)
            buffer.withUnsafeMutableBufferPointer {
                ERR_error_string_n(code, $0.baseAddress, $0.count)
            }
            let text = String(
                decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            entries.append(Entry(code: code, text: text))
        }
        return OpenSSLErrorStack(entries: entries)
    }

    /// Empties the calling thread's queue without reading it: before a call whose outcome
    /// `SSL_get_error` judges, and after a failure that is an expected answer (a signature that
    /// does not verify). The corresponding C function is `ERR_clear_error`.
    package static func clear() {
        ERR_clear_error()
    }

    /// Empties the calling thread's queue if it holds an error: before each `SSL_read` and
    /// `SSL_write`, where it almost never does. `ERR_clear_error` resets all 16 slots of the
    /// queue every time (~840 instructions, 1.6 % of a proxied request toward an HTTPS
    /// upstream); `ERR_peek_error` only looks. Equivalent for `SSL_get_error`, which itself
    /// asks `ERR_peek_error`. The corresponding C functions are `ERR_peek_error` and
    /// `ERR_clear_error`.
    package static func clearIfNotEmpty() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    /// Whether the calling thread's queue is empty (nothing is removed).
    /// The corresponding C function is `ERR_peek_error`.
    static var queueIsEmpty: Bool { ERR_peek_error() == 0 }

    /// Whether the stack holds no entry.
    package var isEmpty: Bool { entries.isEmpty }

    /// Whether any entry has the reason code `reason`.
    func contains(reason: Int32) -> Bool {
        entries.contains { $0.reason == reason }
    }

    /// The entries' texts joined with "; ", or `emptyText`.
    package var description: String {
        entries.isEmpty ? Self.emptyText : entries.map(\.text).joined(separator: "; ")
    }
}
