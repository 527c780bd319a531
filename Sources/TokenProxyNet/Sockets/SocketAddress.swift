import Glibc
import TokenProxyPosix

/// One resolved socket address (IPv4, IPv6 or Unix), copied out of the C structures so that it
/// can outlive `freeaddrinfo`.
struct SocketAddress: Sendable {
    /// `AF_INET`, `AF_INET6` or `AF_UNIX`.
    let family: Int32
    /// The protocol `getaddrinfo` suggested (0 for Unix sockets).
    let socketProtocol: Int32
    private let storage: sockaddr_storage
    private let length: socklen_t

    /// Calls `body` with a pointer to the C `sockaddr` and its length, for `connect(2)`.
    func withSockAddr<Result, Failure: Error>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        // sockaddr_storage is laid out to be read as any sockaddr_*; the C API relies on it too.
        try withUnsafePointer(to: storage) { pointer throws(Failure) in
            try body(UnsafeRawPointer(pointer).assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// Resolves `host` to the addresses to try, in the order the resolver prefers (RFC 6724).
    ///
    /// IPv6 literals are accepted with or without brackets. This blocks for as long as the
    /// resolver takes: `getaddrinfo` has no deadline.
    /// The corresponding C function is `getaddrinfo(3)` (through `Posix.resolveStream`).
    static func resolve(host: String, port: Int) throws(NetError) -> [SocketAddress] {
        let resolved: [ResolvedAddress]
        do {
            resolved = try Posix.resolveStream(host: unbracketed(host), port: port)
        } catch {
            throw NetError.resolve(host: host, message: error.message)
        }
        let addresses = resolved.map {
            SocketAddress(
                family: $0.family, socketProtocol: $0.socketProtocol, storage: $0.storage,
                length: $0.length)
        }
        guard !addresses.isEmpty else {
            throw NetError.resolve(host: host, message: "no IPv4 or IPv6 address")
        }
        return addresses
    }

    /// The address of a Unix stream socket at `path`.
    ///
    /// Throws `NetError.connectUnixSocket` with `ENAMETOOLONG` when the path does not fit in
    /// `sun_path` (108 bytes including the terminating NUL on Linux).
    static func unix(path: String) throws(NetError) -> SocketAddress {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            let reason = bytes.isEmpty ? ENOENT : (bytes.contains(0) ? EINVAL : ENAMETOOLONG)
            throw NetError.connectUnixSocket(path: path, errno: reason)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { target in
            withUnsafeBytes(of: address) { target.copyMemory(from: $0) }
        }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + 1
        return SocketAddress(
            family: AF_UNIX, socketProtocol: 0, storage: storage, length: socklen_t(length))
    }

    /// `host` without the brackets of a URL-style IPv6 literal (`[::1]` → `::1`).
    static func unbracketed(_ host: String) -> String {
        guard host.hasPrefix("["), host.hasSuffix("]"), host.count >= 2 else { return host }
        return String(host.dropFirst().dropLast())
    }

    /// `host:port` for messages, bracketing IPv6 literals (`[::1]:443`).
    static func displayName(host: String, port: Int) -> String {
        let name = unbracketed(host)
        return name.contains(":") ? "[\(name)]:\(port)" : "\(name):\(port)"
    }
}
