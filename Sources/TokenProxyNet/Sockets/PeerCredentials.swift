import Glibc
import TokenProxyPosix

/// Finds out who is on the other end of an accepted connection.
///
/// For Unix sockets the kernel recorded the peer's pid, uid and gid when it called `connect`
/// (SO_PEERCRED); they cannot be forged by the peer, which is why the token API's access
/// control rests on them. They are taken once, at accept time: the pid may later exit or be
/// reused, so handlers should decide on uid/gid and log the pid only.
enum PeerCredentials {
    /// The identity of the peer of `fd`, accepted from a listener of `family` with `address`
    /// filled in by `accept4`.
    static func identity(
        of fd: Int32, family: Int32, address: sockaddr_storage
    ) throws(NetError) -> PeerIdentity {
        if family == AF_UNIX {
            let (pid, uid, gid) = try NetError.mapping { () throws(PosixError) in
                try Posix.peerCredentials(fd)
            }
            return .unix(pid: pid, uid: uid, gid: gid)
        }
        let (host, port) = numericHost(address)
        return .tcp(address: host, port: port)
    }

    /// The numeric host (without brackets) and port of an IPv4 or IPv6 address.
    /// The corresponding C function is `inet_ntop`.
    static func numericHost(_ address: sockaddr_storage) -> (String, Int) {
        var storage = address
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafeBytes(of: &storage) { raw -> (String, Int) in
            // sin_port and sin6_port sit at the same offset, in network byte order.
            let port = Int(UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)))
            let family = Int32(raw.load(as: sa_family_t.self))
            let offset =
                family == AF_INET6
                ? MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
                : MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
            let ok = text.withUnsafeMutableBufferPointer { buffer in
                inet_ntop(
                    family, raw.baseAddress! + offset, buffer.baseAddress, socklen_t(buffer.count))
                    != nil
            }
            guard ok else { return ("?", port) }
            return (text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, port)
        }
    }
}
