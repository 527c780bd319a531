import Glibc

/// The one place tokenproxy calls the C library's I/O functions: one wrapper per C call, all
/// with the same errno policy (`syscall(_:_:)`), in the style of swift-nio's `Posix` enum.
///
/// - `EINTR` is retried: a signal interrupting a call is never the caller's concern.
/// - `EAGAIN`/`EWOULDBLOCK` (and `EINPROGRESS` from `connect`) come back as
///   `SyscallResult.wouldBlock`, a value the caller must handle, not an error it might forget.
/// - `EBADF` and `EFAULT` stop the process: they mean we passed a closed descriptor or a bad
///   pointer, a bug that must not become a retry or a log line.
/// - Anything else throws `PosixError` naming the call and its errno.
///
/// `close` has its own rule (see `close(_:)`). No other module calls these C functions; an
/// architecture test (`ArchitectureTests`) keeps it that way.
///
/// Why not apple/swift-system: it covers files but not sockets, epoll, eventfd or `accept4`
/// (most of our calls), it throws `EAGAIN` where a non-blocking caller wants a value, it throws
/// `EBADF` where we want to stop, and its `FileDescriptor` is copyable, so it cannot promise a
/// single close. We keep its conventions: typed errors and doc comments naming the C function.
package enum Posix {
    /// Runs one system call under the errno policy above.
    ///
    /// `body` must return -1 and set `errno` on failure, like the C functions it wraps.
    @inline(__always)
    static func syscall<Value: FixedWidthInteger>(
        _ name: String, _ body: () -> Value
    ) throws(PosixError) -> SyscallResult<Value> {
        while true {
            let result = body()
            guard result == -1 else { return .done(result) }
            let error = errno
            switch error {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK, EINPROGRESS:
                return .wouldBlock
            case EBADF, EFAULT:
                preconditionFailure(
                    "\(name) failed with errno \(error): a closed descriptor or a bad pointer, "
                        + "a bug in tokenproxy")
            default:
                throw PosixError(call: name, errno: error)
            }
        }
    }

    /// Like `syscall(_:_:)` for calls that cannot block (socket, setsockopt, bind, …): a
    /// would-block answer is reported as the errno it stands for.
    @inline(__always)
    @discardableResult
    static func syscallNonBlocking<Value: FixedWidthInteger>(
        _ name: String, _ body: () -> Value
    ) throws(PosixError) -> Value {
        switch try syscall(name, body) {
        case .done(let value): return value
        // `errno` still holds what `syscall` read: nothing ran in between.
        case .wouldBlock: throw PosixError(call: name, errno: errno)
        }
    }

    /// Closes `fd`, with close's own rule: `EINTR` is not retried, because Linux has released
    /// the descriptor already and a retry could close a number another thread was just given;
    /// `EBADF` (a double close) stops the process; anything else (`EIO`, `ENOSPC` on network
    /// file systems: written data may be lost) is thrown.
    ///
    /// Prefer `FileDescriptor`, which closes exactly once. The corresponding C function is
    /// `close`.
    package static func close(_ fd: Int32) throws(PosixError) {
        guard Glibc.close(fd) == -1 else { return }
        let error = errno
        switch error {
        case EINTR:
            return
        case EBADF:
            preconditionFailure(
                "close(\(fd)) failed with EBADF: a double close, a bug in tokenproxy")
        default:
            throw PosixError(call: "close", errno: error)
        }
    }
}
