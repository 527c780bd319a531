/// The process's standard error (descriptor 2), written without Foundation's `FileHandle`.
package enum StandardError {
    /// Writes all of `text` to descriptor 2. A failed write (stderr closed, a full disk behind
    /// a redirect) is dropped: there is nowhere left to report it.
    package static func write(_ text: String) {
        try? FileWriter.writeAll(2, Array(text.utf8))
    }
}
