internal import CLinuxShims
import Glibc

/// Moving bytes through descriptors.
extension Posix {
    /// Reads at most `buffer.count` bytes; `.done(0)` is end of stream.
    ///
    /// The corresponding C function is `recv` (called as a raw syscall: see `CLinuxShims_recv`).
    package static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer)
        throws(PosixError) -> SyscallResult<Int>
    {
        try syscall("recv") { CLinuxShims_recv(fd, buffer.baseAddress, buffer.count, 0) }
    }

    /// Sends what the socket takes of `buffer`, with `MSG_NOSIGNAL` (a vanished peer is
    /// `EPIPE`, not a process-killing `SIGPIPE`) and any extra `flags` (`MSG_DONTWAIT`).
    ///
    /// The corresponding C function is `send` (called as a raw syscall: see `CLinuxShims_recv`).
    package static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, flags: Int32 = 0)
        throws(PosixError) -> SyscallResult<Int>
    {
        try syscall("send") {
            CLinuxShims_send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL) | flags)
        }
    }

    /// Sends `first` and then `second` gathered into one call (one segment on the wire for a
    /// response head and a small body), with `MSG_NOSIGNAL`. Returns how many bytes of both
    /// together the socket took.
    ///
    /// The corresponding C function is `sendmsg`.
    package static func send(
        _ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer
    ) throws(PosixError) -> SyscallResult<Int> {
        try send(fd, first, second, UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Sends `first`, `second` and `third` gathered into one call (a pre-serialized response
    /// head, the per-second `Date` and `Connection` lines, and the body: one syscall, one
    /// segment), with `MSG_NOSIGNAL`. Empty parts are skipped. Returns how many bytes of all
    /// three together the socket took.
    ///
    /// The corresponding C function is `sendmsg` (called as a raw syscall: see
    /// `CLinuxShims_recv`).
    package static func send(
        _ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
        _ third: UnsafeRawBufferPointer
    ) throws(PosixError) -> SyscallResult<Int> {
        var vectors = (iovec(), iovec(), iovec())
        return try withUnsafeMutableBytes(of: &vectors) { raw throws(PosixError) in
            let iov = raw.baseAddress!.assumingMemoryBound(to: iovec.self)
            var count = 0
            // No array of the parts: this runs once per response.
            if !first.isEmpty {
                iov[count] = iovec(
                    iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress),
                    iov_len: first.count)
                count += 1
            }
            if !second.isEmpty {
                iov[count] = iovec(
                    iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress),
                    iov_len: second.count)
                count += 1
            }
            if !third.isEmpty {
                iov[count] = iovec(
                    iov_base: UnsafeMutableRawPointer(mutating: third.baseAddress),
                    iov_len: third.count)
                count += 1
            }
            var message = msghdr()
            message.msg_iov = iov
            message.msg_iovlen = count
            return try syscall("sendmsg") {
                CLinuxShims_sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            }
        }
    }

    /// Reads at most `buffer.count` bytes from a file or an eventfd; `.done(0)` is end of file.
    ///
    /// The corresponding C function is `read`.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer)
        throws(PosixError) -> SyscallResult<Int>
    {
        try syscall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes what the descriptor takes of `buffer`.
    ///
    /// The corresponding C function is `write`.
    package static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer)
        throws(PosixError) -> SyscallResult<Int>
    {
        try syscall("write") { Glibc.write(fd, buffer.baseAddress, buffer.count) }
    }

    /// Waits until one of `fds` is ready or `timeout` milliseconds (-1: forever) pass; returns
    /// how many are ready (0 on timeout). An interrupted wait returns 0 too, so the caller
    /// recomputes its timeout instead of waiting the full one again.
    ///
    /// The corresponding C function is `poll`.
    package static func poll(_ fds: UnsafeMutableBufferPointer<pollfd>, timeout: Int32)
        throws(PosixError) -> Int
    {
        let ready = Glibc.poll(fds.baseAddress, nfds_t(fds.count), timeout)
        guard ready == -1 else { return Int(ready) }
        let error = errno
        switch error {
        case EINTR, EAGAIN: return 0
        case EFAULT: preconditionFailure("poll failed with EFAULT: a bug in tokenproxy")
        default: throw PosixError(call: "poll", errno: error)
        }
    }
}
