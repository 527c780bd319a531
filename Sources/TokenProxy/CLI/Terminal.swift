import TokenProxyPosix

/// What the executable's subcommands need of the terminal besides `print`: unbuffered writes to
/// standard output and error and reading standard input, through the Posix layer (the
/// executable does not import `TokenProxyPosix`, and Foundation's `FileHandle` is not linked).
package enum Terminal {
    /// Writes `text` to standard error as is (add the newline yourself).
    package static func writeError(_ text: String) {
        StandardStreams.writeError(text)
    }

    /// Writes `text` to standard output, unbuffered.
    package static func writeOutput(_ text: String) {
        StandardStreams.writeOutput(text)
    }

    /// Standard input to its end.
    package static func readInput() -> [UInt8] {
        StandardStreams.readInput()
    }
}
