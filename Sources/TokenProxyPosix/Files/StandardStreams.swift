/// The process's standard input, output and error (descriptors 0, 1, 2), used unbuffered and
/// without Foundation's `FileHandle`.
package enum StandardStreams {
    /// Writes all of `text` to standard error. A failed write (stderr closed, a full disk
    /// behind a redirect) is dropped: there is nowhere left to report it.
    package static func writeError(_ text: String) {
        try? FileWriter.writeAll(2, Array(text.utf8))
    }

    /// Writes all of `text` to standard output, unbuffered (unlike `print`, so a line shows up
    /// at once even when stdout is a pipe). A failed write is dropped, as for `writeError`.
    package static func writeOutput(_ text: String) {
        try? FileWriter.writeAll(1, Array(text.utf8))
    }

    /// Standard input to its end (or to the first read error).
    package static func readInput() -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(PosixError) in try Posix.read(0, into: raw) }
            }
            guard case .success(.done(let count)) = result, count > 0 else { return bytes }
            bytes += buffer[..<count]
        }
    }
}
