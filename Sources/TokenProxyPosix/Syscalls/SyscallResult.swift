/// The outcome of a system call on a non-blocking descriptor.
///
/// "Would block" is an ordinary answer for a non-blocking descriptor, not a failure, so it is a
/// value the caller must handle (usually by polling) rather than an error it might forget.
package enum SyscallResult<Value> {
    /// The call completed and returned `Value`.
    case done(Value)
    /// The call failed with `EAGAIN`/`EWOULDBLOCK` (or `EINPROGRESS` for `connect(2)`).
    case wouldBlock
}

extension SyscallResult: Equatable where Value: Equatable {}
extension SyscallResult: Sendable where Value: Sendable {}
