import Glibc
import TokenProxyPosix

extension SocketStream {
    /// Takes ownership of an accepted, connected, non-blocking descriptor (from `accept4` with
    /// `SOCK_NONBLOCK | SOCK_CLOEXEC`). `peer` names the other end in messages.
    package convenience init(adopting fd: Int32, peer: String) {
        self.init(descriptor: FileDescriptor(adopting: fd), peer: peer)
    }

    /// Reads at most `buffer.count` bytes into `buffer`, returning how many (0 at end of
    /// stream). Unlike `read(maxLength:deadline:)` it allocates nothing, for relays that move
    /// many megabytes through one buffer.
    ///
    /// The corresponding C function is `recv(2)`.
    package func read(
        into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant
    ) throws -> Int {
        precondition(buffer.count > 0, "read(into:) needs room for at least one byte")
        return try withFileDescriptor { fd in
            while true {
                switch try ioCall({ () throws(PosixError) in try Posix.receive(fd, into: buffer) })
                {
                case .done(let count):
                    return count
                case .wouldBlock:
                    try Poll.wait(
                        fd: fd, for: Int16(POLLIN), deadline: deadline,
                        operation: "read from \(peer)")
                }
            }
        }
    }

    /// Sends end of stream to the peer while still reading from it (a half close, which
    /// tunnels relay from one side to the other). Errors are ignored: the peer may be gone.
    ///
    /// The corresponding C function is `shutdown(2)` with `SHUT_WR`.
    package func shutdownWrite() {
        _ = try? withFileDescriptor { fd in
            try? Posix.shutdown(fd, how: Int32(SHUT_WR))
        }
    }
}
