import Glibc

/// Signals turned into bytes on a pipe (the self-pipe trick), so that none is lost and none is
/// handled in signal context.
///
/// Why not Dispatch signal sources: they need the signal set to `SIG_IGN` first, and a signal
/// that arrives between `SIG_IGN` and the source's registration is discarded by the kernel —
/// measured: a SIGTERM sent the moment `READY=1` arrived was lost 5 times in 20, and the
/// daemon then waited for SIGKILL. Here a C handler (async-signal-safe: one `write`, errno
/// preserved) is installed with `sigaction` and writes each signal's number to the pipe from
/// whatever thread the kernel picked; a signal that arrives before anyone reads waits in the
/// pipe. Install it before telling anyone (systemd) that we are ready.
package final class SignalPipe: @unchecked Sendable {
    private let readEnd: FileDescriptor
    private let writeEnd: FileDescriptor

    /// Creates the pipe and installs the handler for `signals`. Later installs replace the
    /// earlier handler's pipe: one `SignalPipe` per process.
    ///
    /// The corresponding C functions are `pipe`, `fcntl` and `sigaction`.
    package init(signals: [Int32]) throws(PosixError) {
        var fds: [Int32] = [-1, -1]
        try Posix.syscallNonBlocking("pipe") { pipe(&fds) }
        readEnd = FileDescriptor(adopting: fds[0])
        writeEnd = FileDescriptor(adopting: fds[1])
        for fd in fds {
            try Posix.syscallNonBlocking("fcntl") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        // The handler must never block: a full pipe (64 KiB of unread signals) drops the byte.
        try Posix.syscallNonBlocking("fcntl") { fcntl(fds[1], F_SETFL, O_NONBLOCK) }
        try Posix.syscallNonBlocking("sigaction") {
            LinuxShims.forwardSignals(signals, to: fds[1])
        }
    }

    /// Blocks until a signal arrives and returns its number; nil if reading fails (the pipe
    /// never closes while this object lives, so that means a bug or a broken process).
    ///
    /// The corresponding C function is `read`.
    package func next() -> Int32? {
        var byte: UInt8 = 0
        let result = try? withUnsafeMutableBytes(of: &byte) { buffer throws(PosixError) in
            try Posix.read(readEnd.rawValue, into: buffer)
        }
        guard case .done(1) = result else { return nil }
        return Int32(byte)
    }
}
