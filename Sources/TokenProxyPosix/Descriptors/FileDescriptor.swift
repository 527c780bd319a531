/// Owns one open file descriptor and closes it exactly once.
///
/// Non-copyable, so two owners of one descriptor cannot exist and a double close (which, with
/// threads, closes someone else's freshly opened file) cannot be written. `close()` reports
/// what the kernel says (see `Posix.close(_:)`: `EBADF` stops the process, `EINTR` counts as
/// closed); code that wrote through the descriptor must call it and handle the error, since a
/// failing close can mean lost data. An owner dropped without `close()` closes in `deinit`
/// under the same rule, dropping errors other than `EBADF`: fine for sockets and read-only
/// files, where close has nothing to lose.
///
/// Why not swift-system's `FileDescriptor`: it is a copyable value whose `close()` anyone
/// holding a copy may call, and its errno policy (EAGAIN thrown, EBADF thrown) differs from
/// ours; see `Posix`.
package struct FileDescriptor: ~Copyable, Sendable {
    /// The descriptor number, for passing to `Posix` calls. Valid while this owner lives.
    package let rawValue: Int32

    /// Takes ownership of the open descriptor `rawValue` (from `accept4`, `socket`, `open`,
    /// or inherited from systemd).
    package init(adopting rawValue: Int32) {
        precondition(rawValue >= 0, "FileDescriptor(adopting: \(rawValue)): not a descriptor")
        self.rawValue = rawValue
    }

    /// Closes the descriptor. The corresponding C function is `close`.
    package consuming func close() throws(PosixError) {
        let fd = rawValue
        discard self
        try Posix.close(fd)
    }

    /// Gives up ownership without closing: the caller now owns the number and must close it
    /// with `Posix.close(_:)` (or adopt it in a new owner).
    package consuming func release() -> Int32 {
        let fd = rawValue
        discard self
        return fd
    }

    deinit {
        try? Posix.close(rawValue)
    }
}
