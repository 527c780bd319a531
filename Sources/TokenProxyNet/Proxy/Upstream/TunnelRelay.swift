import Glibc
import TokenProxyCore
import TokenProxyPosix

/// Relays bytes both ways between the client and an upstream (a CONNECT tunnel, or a
/// connection after `101 Switching Protocols`), on the calling thread with `poll(2)`.
///
/// When one side ends its stream, the end is passed on with a half close and the other
/// direction keeps going, as long as both sockets are plain; a TLS upstream cannot be half
/// closed, so its tunnel ends with either side. The relay also ends when either side fails
/// or nothing moved for `idleTimeout`.
enum TunnelRelay {
    /// How much moved, and why the relay stopped if not by both sides closing.
    struct Totals {
        var clientToUpstream = 0
        var upstreamToClient = 0
        var failure: String?
    }

    /// Relays until done. `clientBytes` and `upstreamBytes` arrived with the handshake and are
    /// passed on first; `buffer` is the client read buffer to reuse.
    static func relay(
        client: SocketStream, upstream: any ByteStream, clientBytes: [UInt8],
        upstreamBytes: [UInt8], buffer: UnsafeMutableRawBufferPointer, idleTimeout: Duration
    ) -> Totals {
        var totals = Totals()
        let tls = upstream as? TLSStream
        let plainUpstream = upstream as? SocketStream
        let upstreamFD = tls?.fileDescriptor ?? plainUpstream?.fileDescriptor ?? -1
        var clientOpen = true
        var upstreamOpen = true
        do {
            if !clientBytes.isEmpty {
                try upstream.write(clientBytes, deadline: .now + idleTimeout)
                totals.clientToUpstream += clientBytes.count
            }
            if !upstreamBytes.isEmpty {
                try client.write(upstreamBytes, deadline: .now + idleTimeout)
                totals.upstreamToClient += upstreamBytes.count
            }
            while clientOpen || upstreamOpen {
                // TLS may hold decrypted bytes poll(2) cannot see.
                var upstreamReady = upstreamOpen && tls?.isReadableOrClosed() == true
                var clientReady = false
                if !upstreamReady {
                    guard
                        let ready = try wait(
                            client: client, clientOpen: clientOpen,
                            upstreamFD: upstreamOpen ? upstreamFD : -1, timeout: idleTimeout)
                    else {
                        totals.failure = "tunnel idle for \(idleTimeout)"
                        return totals
                    }
                    (clientReady, upstreamReady) = ready
                    if upstreamReady, let tls, !tls.isReadableOrClosed() {
                        // Only part of a TLS record (or a session ticket) so far.
                        upstreamReady = false
                        if !clientReady { usleep(1000) }
                    }
                }
                if clientReady {
                    let count = try client.read(into: buffer, deadline: .now + idleTimeout)
                    if count == 0 {
                        clientOpen = false
                        guard let plainUpstream else { return totals }
                        plainUpstream.shutdownWrite()
                    } else {
                        try upstream.write(
                            Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count])),
                            deadline: .now + idleTimeout)
                        totals.clientToUpstream += count
                    }
                }
                if upstreamReady {
                    let bytes = try upstream.read(
                        maxLength: Limits.Proxy.relayBufferBytes, deadline: .now + idleTimeout)
                    if bytes.isEmpty {
                        upstreamOpen = false
                        if tls != nil { return totals }
                        client.shutdownWrite()
                    } else {
                        try client.write(bytes, deadline: .now + idleTimeout)
                        totals.upstreamToClient += bytes.count
                    }
                }
            }
        } catch {
            totals.failure = "tunnel ended: \(error)"
        }
        return totals
    }

    /// Waits until the client or the upstream is readable (or hung up). Returns nil after
    /// `timeout` with no event. The poll runs inside the client's operation gate, so closing
    /// the client from another thread (engine shutdown) wakes it.
    ///
    /// The corresponding C function is `poll(2)`.
    private static func wait(
        client: SocketStream, clientOpen: Bool, upstreamFD: Int32, timeout: Duration
    ) throws -> (client: Bool, upstream: Bool)? {
        let deadline = ContinuousClock.now + timeout
        return try client.withFileDescriptor { clientFD in
            while true {
                guard let milliseconds = Poll.millisecondsUntil(deadline) else { return nil }
                var fds = (
                    pollfd(fd: clientOpen ? clientFD : -1, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: upstreamFD, events: Int16(POLLIN), revents: 0)
                )
                let result = try withUnsafeMutableBytes(of: &fds) { raw in
                    Result { () throws(PosixError) in
                        try Posix.poll(
                            UnsafeMutableBufferPointer(
                                start: raw.baseAddress!.assumingMemoryBound(to: pollfd.self),
                                count: 2),
                            timeout: milliseconds)
                    }
                }.mapError(NetError.init).get()
                // Timed out or interrupted: let the deadline decide.
                if result == 0 { continue }
                return (fds.0.revents != 0, fds.1.revents != 0)
            }
        }
    }
}
