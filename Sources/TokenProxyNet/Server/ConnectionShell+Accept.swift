import Glibc
import TokenProxyPosix

/// Admitting what a loop accepted.
extension ConnectionShell {
    /// Admits an accepted socket into the table, counted on `loop` (where it will live), or
    /// refuses it (over `maxConnections`, or not
    /// running): then it gets `overloadResponse`, if any, and is closed. Returns the new
    /// connection, not yet started; it owns the socket from here on.
    func admit(
        _ socket: consuming FileDescriptor, peer: PeerIdentity, from listener: Listener,
        on loop: EventLoop, makeConnection: (ShellAdmission) -> Connection
    ) -> Connection? {
        guard
            let connection = register(
                socket.rawValue, peer: peer, from: listener, on: loop, makeConnection)
        else {
            if let overloadResponse {
                // The socket is new and its send buffer empty: this small write cannot block.
                // The client may be gone already; `socket` closes when this returns.
                _ = overloadResponse.withUnsafeBytes {
                    try? Posix.send(socket.rawValue, $0, flags: Int32(MSG_DONTWAIT))
                }
            }
            return nil
        }
        _ = socket.release()
        return connection
    }
}
