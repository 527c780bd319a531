/// A connected, bidirectional byte stream — plain TCP, a Unix socket, or TLS on top of either.
///
/// Calls block the calling thread until data moves or the deadline passes, so they must run on
/// a Dispatch queue or thread of our own, never on a Swift concurrency thread. Every call takes
/// an absolute deadline rather than a timeout so that a whole exchange (connect, write, read the
/// response) can share one total budget.
package protocol ByteStream: AnyObject, Sendable {
    /// Reads at most `maxLength` bytes. Returns an empty array at end of stream.
    /// Throws `NetError.timedOut` when the deadline passes first.
    func read(maxLength: Int, deadline: ContinuousClock.Instant) throws -> [UInt8]

    /// Writes all of `bytes`, or throws.
    func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws

    /// Closes the stream (sending TLS close_notify first where it applies). Idempotent.
    func close()
}
