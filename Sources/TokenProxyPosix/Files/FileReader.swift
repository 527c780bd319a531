import Glibc

/// Why `FileReader.read` returned no contents.
package enum FileReadError: Error, Sendable, Equatable {
    /// `open`, `fstat` or `read` failed (`ENOENT`, `EACCES`, `ELOOP` for a refused symlink, …).
    case system(PosixError)
    /// The path names a directory, FIFO, device or socket.
    case notRegularFile(FileStatus)
    /// The file is larger than `limit` bytes; `size` is what `fstat` said, or nil when the file
    /// grew past the limit while being read.
    case tooLarge(size: Int?, limit: Int)
}

/// Reads small files whole (keys, configuration), checking them on the open descriptor.
package enum FileReader {
    /// Opens `path`, checks on the open descriptor (no race between check and read) that it is
    /// a regular file, lets `check` inspect its status (mode, owner), refuses it past `limit`
    /// bytes, and reads it into one buffer allocated once.
    ///
    /// The buffer is never resized, so no unwiped copy of the contents is left behind; on a
    /// failure after reading started it is zeroed before the error is thrown, which matters
    /// for key files. `O_NONBLOCK` keeps a FIFO from hanging the open, `O_NOCTTY` a terminal
    /// from becoming ours; with `followSymlinks: false`, `O_NOFOLLOW` refuses a final symbolic
    /// link (`ELOOP`).
    ///
    /// Throws `FileReadError`, or whatever `check` throws. The corresponding C functions are
    /// `open`, `fstat`, `read` and `close`.
    package static func read(
        path: String, limit: Int, followSymlinks: Bool = true,
        check: (FileStatus) throws -> Void = { _ in }
    ) throws -> [UInt8] {
        let flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | (followSymlinks ? 0 : O_NOFOLLOW)
        let file = try Result { () throws(PosixError) in try Posix.open(path, flags: flags) }
            .mapError(FileReadError.system).get()
        let status = try Result { () throws(PosixError) in try Posix.status(file.rawValue) }
            .mapError(FileReadError.system).get()
        guard status.isRegularFile else { throw FileReadError.notRegularFile(status) }
        try check(status)
        guard status.size <= limit else {
            throw FileReadError.tooLarge(size: status.size, limit: limit)
        }
        // One byte more than the limit detects a file that grew after fstat.
        var buffer = [UInt8](repeating: 0, count: limit + 1)
        var total = 0
        while total < buffer.count {
            let attempt = buffer.withUnsafeMutableBytes { memory in
                Result { () throws(PosixError) in
                    try Posix.read(
                        file.rawValue,
                        into: UnsafeMutableRawBufferPointer(rebasing: memory[total...]))
                }
            }
            let result: SyscallResult<Int>
            switch attempt {
            case .success(let value):
                result = value
            case .failure(let error):
                wipe(&buffer)
                throw FileReadError.system(error)
            }
            guard case .done(let count) = result else {
                // A regular file never blocks; treat it as the failure it would be.
                wipe(&buffer)
                throw FileReadError.system(PosixError(call: "read", errno: EAGAIN))
            }
            if count == 0 { break }
            total += count
        }
        guard total <= limit else {
            wipe(&buffer)
            throw FileReadError.tooLarge(size: nil, limit: limit)
        }
        // Shrinking in place keeps the storage; the dropped tail was never written.
        buffer.removeLast(buffer.count - total)
        return buffer
    }

    /// Zeroes `bytes` in place. The corresponding C function is `explicit_bzero`, which the
    /// compiler cannot elide as a dead store.
    private static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { memory in
            guard let base = memory.baseAddress else { return }
            explicit_bzero(base, memory.count)
        }
    }
}
