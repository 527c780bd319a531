import CLinuxShims
import Glibc

/// The outcome of a system call on a non-blocking descriptor.
///
/// "Would block" is an ordinary answer for a non-blocking descriptor, not a failure, so it is a
/// value the caller must handle (usually by polling) rather than an error it might forget.
enum SyscallResult<Value> {
    /// The call completed and returned `Value`.
    case done(Value)
    /// The call failed with `EAGAIN`/`EWOULDBLOCK` (or `EINPROGRESS` for `connect(2)`).
    case wouldBlock
}

/// Runs one system call the way every call in this module should be run.
///
/// - `EINTR` is retried: a signal handler interrupting us is never the caller's concern.
/// - `EAGAIN`/`EWOULDBLOCK` and `EINPROGRESS` come back as `.wouldBlock`.
/// - `EBADF` and `EFAULT` stop the process: they mean we passed a closed descriptor or a bad
///   pointer, a bug in this module that must not be turned into a retry or a log line.
/// - Anything else throws `NetError.syscall(name:errno:)` naming the call.
///
/// `body` must return -1 and set `errno` on failure, like the C functions it wraps.
@inline(__always)
func syscall<Value: FixedWidthInteger>(
    _ name: String, _ body: () -> Value
) throws(NetError) -> SyscallResult<Value> {
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
            preconditionFailure("\(name) failed with errno \(error): a bug in TokenProxyNet")
        default:
            throw NetError.syscall(name: name, errno: error)
        }
    }
}

/// Like `syscall(_:_:)` for calls that cannot block (setsockopt, getsockopt, socket): a
/// `.wouldBlock` answer is reported as the errno it stands for.
@inline(__always)
@discardableResult
func syscallNonBlocking<Value: FixedWidthInteger>(
    _ name: String, _ body: () -> Value
) throws(NetError) -> Value {
    switch try syscall(name, body) {
    case .done(let value): return value
    case .wouldBlock: throw NetError.syscall(name: name, errno: EAGAIN)
    }
}
