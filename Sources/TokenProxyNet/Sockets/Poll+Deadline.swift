import TokenProxyPosix

extension Poll {
    /// Blocks until `fd` reports one of `events` (or an error or hang-up, which the next read or
    /// write will then report precisely), or throws `NetError.timedOut(operation:)` once
    /// `deadline` has passed.
    ///
    /// The corresponding C function is `poll` (through `Poll.wait(fd:for:until:)`).
    static func wait(
        fd: Int32, for events: Int16, deadline: ContinuousClock.Instant,
        operation: @autoclosure () -> String
    ) throws(NetError) {
        guard
            try NetError.mapping({ () throws(PosixError) in
                try Poll.wait(fd: fd, for: events, until: deadline)
            })
        else { throw NetError.timedOut(operation: operation()) }
    }
}
