import TokenProxyPosix

/// What one non-blocking read of a connected socket came to, for the connections that live on
/// the event loops (the token API's, the proxy's clients and upstreams).
enum SocketRead: Equatable {
    case bytes(Int)
    /// The peer closed its side (recv returned 0).
    case end
    /// Nothing to read now (EAGAIN): epoll reports more.
    case wouldBlock
    /// The peer is gone (ECONNRESET and friends).
    case failed

    /// Reads what `fd` has into `buffer`. The corresponding C function is `recv`.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> SocketRead {
        switch try? Posix.receive(fd, into: buffer) {
        case .done(let count)?: count > 0 ? .bytes(count) : .end
        case .wouldBlock?: .wouldBlock
        case nil: .failed
        }
    }
}
