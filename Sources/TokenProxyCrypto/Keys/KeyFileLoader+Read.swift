#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension KeyFileLoader {
    /// Opens `path`, checks what it is and who may read it on the open descriptor (no race
    /// between check and read), and reads it into one preallocated buffer that the caller wipes.
    ///
    /// Symbolic links are followed, as Kubernetes secret mounts and systemd credentials use
    /// them; the checks apply to the file they lead to. `O_NONBLOCK` keeps a FIFO from hanging
    /// the open. The corresponding C functions are `open`, `fstat` and `read`.
    static func readKeyFile(path: String, allowInsecurePermissions: Bool) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw CryptoError.keyFileUnreadable(path: path, errno: errno)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw CryptoError.keyFileUnreadable(path: path, errno: errno)
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw CryptoError.keyFileNotRegular(path: path)
        }
        if status.st_mode & 0o077 != 0 && !allowInsecurePermissions {
            throw CryptoError.keyFileInsecurePermissions(path: path, mode: UInt32(status.st_mode))
        }
        guard Int(status.st_size) <= maximumFileSize else {
            throw CryptoError.keyFileTooLarge(path: path, limit: maximumFileSize)
        }
        // One byte more than the limit detects a file that grew after fstat; the buffer is
        // never resized, so no unwiped copy of its contents is left behind.
        var buffer = [UInt8](repeating: 0, count: maximumFileSize + 1)
        var total = 0
        while total < buffer.count {
            let count = buffer.withUnsafeMutableBytes { memory in
                read(descriptor, memory.baseAddress! + total, memory.count - total)
            }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                let failure = errno
                Wipe.bytes(&buffer)
                throw CryptoError.keyFileUnreadable(path: path, errno: failure)
            }
            total += count
        }
        guard total <= maximumFileSize else {
            Wipe.bytes(&buffer)
            throw CryptoError.keyFileTooLarge(path: path, limit: maximumFileSize)
        }
        // Shrinking in place keeps the storage; the dropped tail was never written.
        buffer.removeLast(buffer.count - total)
        return buffer
    }
}
