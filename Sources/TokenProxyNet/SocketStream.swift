// STUB: replaced by the transport work (TCP and Unix sockets).

/// A connected TCP or Unix stream socket, blocking-with-deadlines via poll(2).
package final class SocketStream: ByteStream, @unchecked Sendable {
    /// The peer as `host:port` or the Unix path, for messages.
    package let peer: String

    private init(peer: String) { self.peer = peer }

    /// Resolves `host` and connects to the first address that answers before `deadline`.
    package static func connect(host: String, port: Int, deadline: ContinuousClock.Instant) throws
        -> SocketStream
    {
        fatalError("SocketStream.connect not implemented yet")
    }

    /// Connects to a Unix stream socket at `path`.
    package static func connect(unixPath path: String, deadline: ContinuousClock.Instant) throws
        -> SocketStream
    {
        fatalError("SocketStream.connect(unixPath:) not implemented yet")
    }

    package func read(maxLength: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        fatalError("not implemented yet")
    }

    package func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        fatalError("not implemented yet")
    }

    package func close() {}
}
