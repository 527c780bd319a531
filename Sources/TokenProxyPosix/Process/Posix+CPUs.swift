import Glibc

/// What the kernel lets this process run on: the affinity mask and the cgroup files that
/// bound its CPU time. `CPUBudget` (in TokenProxyCore) turns them into a loop count.
extension Posix {
    /// How many CPUs this thread may run on (its affinity mask, set by `taskset`,
    /// `CPUAffinity=` or a container runtime's cpuset). At least 1.
    ///
    /// The corresponding C function is `sched_getaffinity`.
    package static func schedGetAffinityCount() throws(PosixError) -> Int {
        let count = try syscallNonBlocking("sched_getaffinity") { LinuxShims.allowedCPUCount() }
        return max(1, Int(count))
    }

    /// The contents of a small kernel text file (`/proc/self/cgroup`, a cgroup's `cpu.max`),
    /// or nil when it does not exist or cannot be read (no cgroup v2, a sandbox hiding `/sys`).
    ///
    /// procfs and cgroupfs report a size of 0 (or 4096) whatever they hold, so this reads until
    /// end of file rather than trusting `fstat`. The corresponding C functions are `open`,
    /// `read` and `close`.
    package static func readKernelText(_ path: String, limit: Int = 4096) -> String? {
        readKernelBytes(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The same as bytes (`/proc/self/smaps`, parsed in place). The buffer is not zeroed
    /// first, so a large `limit` costs only the pages the file's contents fill.
    package static func readKernelBytes(_ path: String, limit: Int) -> [UInt8]? {
        guard let file = try? Posix.open(path, flags: O_RDONLY | O_NOCTTY) else {
            return nil
        }
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: limit) { buffer, initialized in
            let memory = UnsafeMutableRawBufferPointer(buffer)
            while initialized < limit {
                let result = try? Posix.read(
                    file.rawValue,
                    into: UnsafeMutableRawBufferPointer(rebasing: memory[initialized...]))
                guard case .done(let count)? = result else {
                    failed = true
                    return
                }
                if count == 0 { break }
                initialized += count
            }
        }
        return failed ? nil : bytes
    }
}
