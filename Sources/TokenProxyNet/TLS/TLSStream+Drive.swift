import Glibc
import TokenProxyCrypto
import TokenProxyPosix

extension TLSStream {
    /// Calls `step` (a session handshake, read or write) until it completes, polling `fd`
    /// whenever the session needs it readable or writable, until `deadline`.
    ///
    /// A TLS read may need the socket writable (and a write readable), so the direction comes
    /// from the session's answer, not from the call. Returns the completed value, or nil at end
    /// of stream; throws the session's failure as a `NetError` naming the peer.
    func drive<Value>(
        fd: Int32, deadline: ContinuousClock.Instant, operation: @autoclosure () -> String,
        _ step: () -> TLSResult<Value>
    ) throws(NetError) -> Value? {
        while true {
            switch step() {
            case .done(let value):
                return value
            case .wantRead:
                try Poll.wait(
                    fd: fd, for: Int16(POLLIN), deadline: deadline, operation: operation())
            case .wantWrite:
                try Poll.wait(
                    fd: fd, for: Int16(POLLOUT), deadline: deadline, operation: operation())
            case .closed, .closedWithoutCloseNotify:
                return nil
            case .failed(let error):
                throw NetError(error, peer: peer)
            }
        }
    }
}
