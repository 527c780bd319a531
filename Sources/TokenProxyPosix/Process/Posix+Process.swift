import Glibc

/// Signal dispositions, thread names and leaving the process.
extension Posix {
    /// Sets `signal` to be ignored (`SIG_IGN`), for example so that a Dispatch signal source
    /// receives SIGTERM instead of the default action killing the process.
    ///
    /// The corresponding C function is `sigaction`.
    package static func ignoreSignal(_ signal: Int32) throws(PosixError) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_IGN
        sigemptyset(&action.sa_mask)
        try syscallNonBlocking("sigaction") { sigaction(signal, &action, nil) }
    }

    /// Names the calling thread (the kernel keeps the first 15 bytes): what `top -H`, `perf`
    /// and `/proc/PID/task/TID/comm` show. A thread created from another inherits its creator's
    /// name (a Dispatch worker's `…root.default-qos`), and Foundation's `Thread.name` does not
    /// reach the kernel, so a thread of ours names itself first thing.
    ///
    /// The corresponding C function is `prctl` with `PR_SET_NAME`.
    package static func setThreadName(_ name: String) throws(PosixError) {
        try syscallNonBlocking("prctl(PR_SET_NAME)") { LinuxShims.setThreadName(name) }
    }

    /// Flushes C stdio buffers and ends the process with `status` without running `atexit`
    /// handlers or global destructors.
    ///
    /// The corresponding C functions are `fflush` and `_exit`.
    package static func exitImmediately(_ status: Int32) -> Never {
        fflush(nil)
        _exit(status)
    }
}
