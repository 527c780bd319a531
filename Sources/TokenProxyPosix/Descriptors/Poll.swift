import Glibc

/// Waiting on one non-blocking descriptor against an absolute deadline.
package enum Poll {
    /// Blocks until `fd` reports one of `events` (or an error or hang-up, which the next read or
    /// write will then report precisely); false once `deadline` has passed first.
    ///
    /// The corresponding C function is `poll`.
    package static func wait(fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant)
        throws(PosixError) -> Bool
    {
        while true {
            guard let timeout = millisecondsUntil(deadline) else { return false }
            var pollFD = pollfd(fd: fd, events: events, revents: 0)
            let ready = try withUnsafeMutablePointer(to: &pollFD) { pointer throws(PosixError) in
                try Posix.poll(
                    UnsafeMutableBufferPointer(start: pointer, count: 1), timeout: timeout)
            }
            if ready > 0 {
                // POLLNVAL means the descriptor is not open: the same bug as EBADF.
                precondition(pollFD.revents & Int16(POLLNVAL) == 0, "poll on a closed descriptor")
                return true
            }
            // Timed out or woke early: loop, and let the deadline decide.
        }
    }

    /// Whether `fd` is readable, hung up or in error right now, without waiting.
    ///
    /// The corresponding C function is `poll` with a zero timeout.
    package static func isReadableOrClosed(fd: Int32) -> Bool {
        var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = withUnsafeMutablePointer(to: &pollFD) { pointer in
            try? Posix.poll(UnsafeMutableBufferPointer(start: pointer, count: 1), timeout: 0)
        }
        return ready.map { $0 > 0 } ?? true
    }

    /// The time left until `deadline` in whole milliseconds, rounded up so that we never wake
    /// just before it and spin; `nil` once it has passed.
    package static func millisecondsUntil(_ deadline: ContinuousClock.Instant) -> Int32? {
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { return nil }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow else { return Int32.max }
        let total =
            milliseconds.partialValue + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: total)
    }
}
