import Glibc

/// One address `Posix.resolveStream(host:port:)` found.
package struct ResolvedAddress: Sendable {
    /// `AF_INET` or `AF_INET6`.
    package var family: Int32
    /// The protocol for `socket` (`IPPROTO_TCP`).
    package var socketProtocol: Int32
    /// The address, in storage large enough for any family.
    package var storage: sockaddr_storage
    /// The meaningful length of `storage`.
    package var length: socklen_t
}

/// Why name resolution failed, in the resolver's words (`gai_strerror`, or `strerror` for
/// `EAI_SYSTEM`).
package struct ResolutionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The resolver's text, for example "Name or service not known".
    package var message: String
    package var description: String { message }
}

/// Lookups through the C library's name services (DNS, /etc/hosts, /etc/group, NSS modules):
/// they may read files or talk to servers, so they live with the other I/O.
extension Posix {
    /// The IPv4 and IPv6 stream addresses of `host` (a name or an unbracketed IP literal) and
    /// numeric `port`, in the order the resolver prefers (RFC 6724). Blocks for as long as the
    /// resolver takes: `getaddrinfo` has no deadline.
    ///
    /// The corresponding C functions are `getaddrinfo` and `freeaddrinfo`.
    package static func resolveStream(host: String, port: Int) throws(ResolutionError)
        -> [ResolvedAddress]
    {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        // The port is a number; never look it up in /etc/services.
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            let message =
                status == EAI_SYSTEM
                ? PosixError.reason(errno) : String(cString: gai_strerror(status))
            throw ResolutionError(message: message)
        }
        defer { freeaddrinfo(list) }

        var addresses: [ResolvedAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry?.pointee {
            entry = current.ai_next
            guard let address = current.ai_addr,
                current.ai_family == AF_INET || current.ai_family == AF_INET6,
                Int(current.ai_addrlen) <= MemoryLayout<sockaddr_storage>.size
            else { continue }
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { target in
                target.copyMemory(
                    from: UnsafeRawBufferPointer(start: address, count: Int(current.ai_addrlen)))
            }
            addresses.append(
                ResolvedAddress(
                    family: current.ai_family, socketProtocol: current.ai_protocol,
                    storage: storage, length: current.ai_addrlen))
        }
        return addresses
    }

    /// The gid of the group named `name`, or nil if there is no such group. Throws the errno
    /// of a failed lookup (`EIO`, …).
    ///
    /// The corresponding C function is `getgrnam_r`.
    package static func groupID(named name: String) throws(PosixError) -> gid_t? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 1024)
        while true {
            let status = buffer.withUnsafeMutableBufferPointer { storage in
                getgrnam_r(name, &entry, storage.baseAddress, storage.count, &result)
            }
            if status == ERANGE && buffer.count < 1 << 20 {
                buffer = [CChar](repeating: 0, count: buffer.count * 4)
                continue
            }
            if status == 0 { return result?.pointee.gr_gid }
            guard status == ENOENT || status == ESRCH else {
                throw PosixError(call: "getgrnam_r", errno: status)
            }
            return nil
        }
    }
}
