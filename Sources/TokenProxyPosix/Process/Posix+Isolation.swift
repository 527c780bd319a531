import Glibc

/// Keeping other processes of the same user out of this one's memory (the keys live there).
extension Posix {
    /// Marks the process non-dumpable (or dumpable again): no core dump is written, and
    /// `ptrace` attach and `/proc/PID/mem` are refused to everyone without `CAP_SYS_PTRACE` —
    /// even to processes of the same uid. `/proc/PID/*` files become owned by root.
    ///
    /// The corresponding C function is `prctl` with `PR_SET_DUMPABLE`.
    package static func setDumpable(_ dumpable: Bool) throws(PosixError) {
        try syscallNonBlocking("prctl(PR_SET_DUMPABLE)") { LinuxShims.setDumpable(dumpable) }
    }

    /// Whether the process is dumpable. The corresponding C function is `prctl` with
    /// `PR_GET_DUMPABLE`.
    package static func isDumpable() throws(PosixError) -> Bool {
        try syscallNonBlocking("prctl(PR_GET_DUMPABLE)") { LinuxShims.isDumpable() } != 0
    }

    /// The target of the symbolic link at `path` (such as `/proc/PID/exe`), or nil when it
    /// cannot be read (no such process, or not permitted: another user's process).
    ///
    /// The corresponding C function is `readlink`.
    package static func readLink(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { storage in
            storage.baseAddress!.withMemoryRebound(to: CChar.self, capacity: storage.count) {
                readlink(path, $0, storage.count - 1)
            }
        }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
