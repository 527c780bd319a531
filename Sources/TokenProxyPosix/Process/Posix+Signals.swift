import Glibc

/// Sending signals to other processes (children we started).
extension Posix {
    /// Sends `signal` to process `pid`; a process that has already gone (`ESRCH`) is not an
    /// error. The corresponding C function is `kill`.
    package static func sendSignal(_ signal: Int32, to pid: Int32) throws(PosixError) {
        do {
            try syscallNonBlocking("kill") { Glibc.kill(pid, signal) }
        } catch  where error.errno == ESRCH {
            return
        }
    }
}
