import Glibc

/// Writes small files whole: exclusively created (never overwriting) or atomically replaced.
package enum FileWriter {
    /// Creates `path` with `O_EXCL | O_NOFOLLOW` and permissions `mode` set at creation (so no
    /// other user can read it for an instant), writes `contents` and closes it, checking the
    /// close. On any failure after creating it, the file is removed again.
    ///
    /// Throws the failing call's `PosixError`: `open` with `EEXIST` when the path exists (also
    /// a dangling symlink). The corresponding C functions are `open`, `write`, `close` and
    /// `unlink`.
    package static func createExclusively(_ path: String, contents: [UInt8], mode: UInt32)
        throws(PosixError)
    {
        let file = try Posix.open(
            path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
        do throws(PosixError) {
            try writeAll(file.rawValue, contents)
            try file.close()
        } catch {
            try? Posix.unlink(path)
            throw error
        }
    }

    /// Replaces `path` with `contents` so that readers see either the old or the new file,
    /// never a part: writes a new temporary file beside it (exclusively, with `mode`), flushes
    /// it to disk, and renames it over `path`. A symbolic link at `path` is replaced, not
    /// followed.
    ///
    /// The corresponding C functions are `open`, `write`, `fsync`, `close` and `rename`.
    package static func replaceAtomically(_ path: String, contents: [UInt8], mode: UInt32)
        throws(PosixError)
    {
        while true {
            let temporary =
                path + ".tmp-\(ProcessIdentity.processID)-\(UInt32.random(in: 0...UInt32.max))"
            let file: FileDescriptor
            do {
                file = try Posix.open(
                    temporary, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
            } catch  where error.errno == EEXIST {
                continue
            }
            do throws(PosixError) {
                try writeAll(file.rawValue, contents)
                try Posix.sync(file.rawValue)
                try file.close()
                try Posix.rename(temporary, to: path)
            } catch {
                try? Posix.unlink(temporary)
                throw error
            }
            return
        }
    }

    /// Writes every byte of `bytes` to the blocking descriptor `fd`.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(PosixError) {
        var written = 0
        while written < bytes.count {
            let result = try bytes.withUnsafeBytes { buffer in
                Result { () throws(PosixError) in
                    try Posix.write(fd, UnsafeRawBufferPointer(rebasing: buffer[written...]))
                }
            }.get()
            guard case .done(let count) = result else {
                throw PosixError(call: "write", errno: EAGAIN)
            }
            written += count
        }
    }
}
