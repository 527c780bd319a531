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

    /// Flushes C stdio buffers and ends the process with `status` without running `atexit`
    /// handlers or global destructors.
    ///
    /// The corresponding C functions are `fflush` and `_exit`.
    package static func exitImmediately(_ status: Int32) -> Never {
        fflush(nil)
        _exit(status)
    }
}
