internal import CLinuxShims
import Glibc

/// Starting the daemon's own threads (event loops, the signal and key watchers) without
/// Foundation's `Thread`, which is all that kept `import Foundation` in some modules.
extension Posix {
    /// Runs `body` on a new detached thread named `name` (cut to the kernel's 15 bytes, as
    /// `ps -L` and `/proc/PID/task/*/comm` show it), with the default stack size.
    ///
    /// The corresponding C functions are `pthread_create` and `pthread_setname_np`.
    package static func startThread(
        name: String, _ body: @escaping @Sendable () -> Void
    ) throws(PosixError) {
        let context = Unmanaged.passRetained(ThreadStart(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(
            &thread, &attributes,
            { context in
                let start = Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue()
                _ = CLinuxShims_set_thread_name(start.kernelName)
                start.body()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(context).release()
            throw PosixError(call: "pthread_create", errno: result)
        }
    }
}

/// What a new thread runs, handed over through `pthread_create`'s one pointer.
private final class ThreadStart: Sendable {
    /// At most 15 bytes: `pthread_setname_np` refuses longer names (`ERANGE`).
    let kernelName: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        var cut = ""
        for scalar in name.unicodeScalars {
            guard cut.utf8.count + String(scalar).utf8.count <= 15 else { break }
            cut.unicodeScalars.append(scalar)
        }
        kernelName = cut
        self.body = body
    }
}

extension Posix {
    /// CPU time the calling thread has used, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`): how an
    /// event loop measures how busy it is. A system call, not a vDSO read (~0.2 µs), so callers
    /// read it once per measuring window, never per request.
    ///
    /// The corresponding C function is `clock_gettime`.
    package static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        // Cannot fail for the calling thread's clock with a valid pointer.
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
