internal import CLinuxShims
import Glibc

/// The event bits and operations of `epoll(7)`, as plain values (Glibc imports the C ones as
/// enum types, and `struct epoll_event` is packed on x86-64, which Swift cannot lay out).
package enum Epoll {
    /// Readable (`EPOLLIN`).
    package static let input: UInt32 = CLinuxShims_EPOLLIN
    /// Writable (`EPOLLOUT`).
    package static let output: UInt32 = CLinuxShims_EPOLLOUT
    /// An error on the descriptor (`EPOLLERR`); always reported.
    package static let error: UInt32 = CLinuxShims_EPOLLERR
    /// The peer hung up (`EPOLLHUP`); always reported.
    package static let hangUp: UInt32 = CLinuxShims_EPOLLHUP
    /// The peer shut down its writing side (`EPOLLRDHUP`): a FIN arrived. Reported only when
    /// asked for; lets a connection that reads nothing notice that its peer hung up.
    package static let readHangUp: UInt32 = CLinuxShims_EPOLLRDHUP
    /// Wake only one (or a few) of the epoll instances watching the same descriptor
    /// (`EPOLLEXCLUSIVE`, Linux 4.5): a listening socket watched by every loop then wakes one
    /// loop per connection instead of all of them. Only valid with `.add`.
    package static let exclusive: UInt32 = CLinuxShims_EPOLLEXCLUSIVE
    /// Report a readiness change once, when it happens (`EPOLLET`), instead of at every wait
    /// while it lasts. The reader must then remember that a socket still holds data (a read
    /// that filled its buffer) and come back to it itself. Why a server wants it: see
    /// `ServerConnection.inputReady`.
    package static let edgeTriggered: UInt32 = CLinuxShims_EPOLLET

    /// What `Posix.epollControl` does with a descriptor.
    package enum Operation: Sendable {
        /// Start watching a descriptor (`EPOLL_CTL_ADD`).
        case add
        /// Change the events watched (`EPOLL_CTL_MOD`).
        case modify
        /// Stop watching (`EPOLL_CTL_DEL`); required before the descriptor is closed, since
        /// epoll watches the open file, not the number.
        case delete

        var rawValue: Int32 {
            switch self {
            case .add: CLinuxShims_EPOLL_CTL_ADD
            case .modify: CLinuxShims_EPOLL_CTL_MOD
            case .delete: CLinuxShims_EPOLL_CTL_DEL
            }
        }
    }
}

extension Posix {
    /// A new close-on-exec epoll instance. The corresponding C function is `epoll_create1`.
    package static func epollCreate() throws(PosixError) -> FileDescriptor {
        FileDescriptor(
            adopting: try syscallNonBlocking("epoll_create1") { CLinuxShims_epoll_create() })
    }

    /// Adds, changes or removes `fd` in `epoll`; `token` comes back with each of its events.
    ///
    /// The corresponding C function is `epoll_ctl`.
    package static func epollControl(
        _ epoll: Int32, _ operation: Epoll.Operation, fd: Int32, events: UInt32, token: UInt64
    ) throws(PosixError) {
        try syscallNonBlocking("epoll_ctl") {
            CLinuxShims_epoll_ctl(epoll, operation.rawValue, fd, events, token)
        }
    }

    /// Waits up to `timeout` milliseconds (-1: forever) for events, filling `events` and
    /// `tokens` (at most 256 per call); returns how many. An interrupted wait returns 0, so the
    /// caller recomputes its timeout.
    ///
    /// The corresponding C function is `epoll_wait`.
    package static func epollWait(
        _ epoll: Int32, events: UnsafeMutableBufferPointer<UInt32>,
        tokens: UnsafeMutableBufferPointer<UInt64>, timeout: Int32
    ) throws(PosixError) -> Int {
        precondition(events.count == tokens.count, "one token per event")
        let count = CLinuxShims_epoll_wait(
            epoll, events.baseAddress, tokens.baseAddress, Int32(events.count), timeout)
        guard count == -1 else { return Int(count) }
        let error = errno
        switch error {
        case EINTR: return 0
        case EBADF, EFAULT, EINVAL:
            preconditionFailure("epoll_wait failed with errno \(error): a bug in tokenproxy")
        default: throw PosixError(call: "epoll_wait", errno: error)
        }
    }

    /// A new non-blocking, close-on-exec eventfd with counter 0: a descriptor another thread
    /// makes readable by adding to it. The corresponding C function is `eventfd`.
    package static func eventCounter() throws(PosixError) -> FileDescriptor {
        FileDescriptor(adopting: try syscallNonBlocking("eventfd") { CLinuxShims_eventfd() })
    }
}

extension Posix {
    /// Lets another thread that is ready to run on this CPU run first (`sched_yield`); returns
    /// at once when none is. For a polling loop (`EventLoopPoll`): a poll must not keep a
    /// caller that shares the CPU from writing the very request it waits for.
    package static func yieldCPU() {
        _ = sched_yield()
    }

    /// How often the kernel has taken the CPU from the calling thread while it could still run
    /// (`ru_nivcsw` of `getrusage(RUSAGE_THREAD)`): a preemption, or a `sched_yield` that let
    /// another thread run. Interrupts and time the hypervisor steals do not count, which is
    /// what tells a poll whose CPU has other work (`EventLoopPoll`) from one that was only
    /// interrupted.
    package static func involuntarySwitches() -> Int {
        var usage = rusage()
        _ = getrusage(__rusage_who_t(CLinuxShims_RUSAGE_THREAD), &usage)
        return usage.ru_nivcsw
    }
}
