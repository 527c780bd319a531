import Glibc

/// The calling thread's demand for a CPU, in nanoseconds: the time it ran plus the time it
/// waited, runnable, for a CPU (`/proc/thread-self/schedstat`, its first two fields) — how an
/// event loop tells how busy it is.
///
/// Why not the thread's CPU time alone: when other threads crowd the CPUs, a loop that always
/// has work may get only 40 % of one; its CPU time then says "not busy" exactly when it is
/// most congested (seen in a test with the machine's other CPU loaded by a build). Time spent
/// waiting for a CPU counts as busy here. Where the file cannot be read (no `/proc`, a kernel
/// without schedstats), the thread's CPU time (`Posix.threadCPUNanoseconds`) stands in.
///
/// Reading it is one `pread` of a few dozen bytes: callers read it once per measuring window,
/// never per request. Create it on the thread it measures (the file is `thread-self`'s).
package final class ThreadDemandClock {
    /// `/proc/thread-self/schedstat`, opened on the measured thread, or -1.
    private let fd: Int32

    /// Opens the calling thread's `schedstat`.
    package init() {
        fd = (try? Posix.open("/proc/thread-self/schedstat", flags: O_RDONLY).release()) ?? -1
    }

    deinit {
        if fd >= 0 { try? Posix.close(fd) }
    }

    /// Whether the schedstat file is read (false: CPU time only).
    package var countsWaiting: Bool { fd >= 0 }

    /// The thread's nanoseconds on a CPU plus waiting for one, so far.
    package func nanoseconds() -> UInt64 {
        guard fd >= 0 else { return Posix.threadCPUNanoseconds() }
        var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0)
        let read = withUnsafeMutableBytes(of: &bytes) { buffer in
            pread(fd, buffer.baseAddress, buffer.count, 0)
        }
        guard read > 0 else { return Posix.threadCPUNanoseconds() }
        return withUnsafeBytes(of: &bytes) { buffer in
            Self.demand(schedstat: UnsafeRawBufferPointer(rebasing: buffer[..<read]))
                ?? Posix.threadCPUNanoseconds()
        }
    }

    /// The sum of the first two decimal fields of a `schedstat` text ("RUN WAIT SLICES\n"),
    /// or nil when they are not there.
    package static func demand(schedstat text: UnsafeRawBufferPointer) -> UInt64? {
        var sum: UInt64 = 0
        var fields = 0
        var value: UInt64 = 0
        var digits = 0
        for byte in text {
            if byte >= 0x30, byte <= 0x39 {
                let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow, digits < 20 else { return nil }
                value = times &+ UInt64(byte &- 0x30)
                digits += 1
                continue
            }
            guard digits > 0, byte == 0x20 || byte == 0x0A else { return nil }
            sum &+= value
            fields += 1
            if fields == 2 { return sum }
            value = 0
            digits = 0
        }
        return nil
    }
}
