internal import CLinuxShims
import Glibc

/// Handing memory the process no longer uses back to the kernel.
extension Posix {
    /// Returns the free memory at the top of every malloc arena, and whole free pages inside
    /// them, to the kernel. Start-up (configuration and key parsing, the first token fetch)
    /// leaves freed heap behind that a long-running daemon would otherwise keep resident.
    /// Returns whether any memory was released.
    ///
    /// The corresponding C function is `malloc_trim`.
    @discardableResult
    package static func releaseFreeMemory() -> Bool {
        CLinuxShims_malloc_trim() != 0
    }

    /// Drops the page-table entries of `start..<end`, a private, read-only file mapping none
    /// of whose pages was ever copied on write (`ResidentFileMapping.releasable` picks them):
    /// its resident pages stop counting towards this process's RSS, stay in the page cache,
    /// and fault back in from it when they are used again. On any other mapping this would
    /// lose data (a private copy reverts to the file's bytes), so callers pass only those.
    ///
    /// The corresponding C function is `madvise` with `MADV_DONTNEED`.
    package static func dropFileMappedPages(start: UInt, end: UInt) throws(PosixError) {
        guard start < end, let address = UnsafeMutableRawPointer(bitPattern: start) else {
            return
        }
        _ = try syscallNonBlocking("madvise(MADV_DONTNEED)") {
            madvise(address, Int(end - start), MADV_DONTNEED)
        }
    }

    /// The user plus system CPU time this process has used so far, all threads together.
    ///
    /// The corresponding C function is `getrusage` with `RUSAGE_SELF`.
    package static func processCPUTime() throws(PosixError) -> Duration {
        var usage = rusage()
        _ = try syscallNonBlocking("getrusage") {
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        }
        func duration(_ time: timeval) -> Duration {
            .seconds(Int64(time.tv_sec)) + .microseconds(Int64(time.tv_usec))
        }
        return duration(usage.ru_utime) + duration(usage.ru_stime)
    }
}
