internal import CLinuxShims
import Glibc

/// The C functions Glibc hides from Swift without `_GNU_SOURCE`, reached through the
/// `CLinuxShims` target. Kept apart so that no `package` signature mentions a type as seen
/// through `CLinuxShims` (it is imported `internal`).
enum LinuxShims {
    /// `SOCK_NONBLOCK | SOCK_CLOEXEC`.
    static var nonBlockingCloseOnExec: Int32 { CLinuxShims_sock_nonblock_cloexec() }

    /// The corresponding C function is `accept4` with `SOCK_NONBLOCK | SOCK_CLOEXEC`.
    static func accept(
        _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>,
        _ length: UnsafeMutablePointer<socklen_t>
    ) -> Int32 {
        CLinuxShims_accept4(fd, address, length, CLinuxShims_sock_nonblock_cloexec())
    }

    /// The corresponding C function is `getsockopt` with `SO_PEERCRED`.
    static func peerCredentials(
        _ fd: Int32, _ pid: inout pid_t, _ uid: inout uid_t, _ gid: inout gid_t
    ) -> Int32 {
        CLinuxShims_peer_credentials(fd, &pid, &uid, &gid)
    }
}

extension LinuxShims {
    /// The corresponding C functions are `sched_getaffinity` and `CPU_COUNT_S`.
    static func allowedCPUCount() -> Int32 {
        CLinuxShims_allowed_cpu_count()
    }
}

extension LinuxShims {
    /// The corresponding C function is `sigaction`, with a handler that writes the signal
    /// number to `writeFD` (see `CLinuxShims_forward_signals`).
    static func forwardSignals(_ signals: [Int32], to writeFD: Int32) -> Int32 {
        signals.withUnsafeBufferPointer {
            CLinuxShims_forward_signals(writeFD, $0.baseAddress, Int32($0.count))
        }
    }
}

extension LinuxShims {
    /// The corresponding C function is `prctl` with `PR_SET_DUMPABLE`.
    static func setDumpable(_ dumpable: Bool) -> Int32 {
        CLinuxShims_set_dumpable(dumpable ? 1 : 0)
    }

    /// The corresponding C function is `prctl` with `PR_GET_DUMPABLE`.
    static func isDumpable() -> Int32 { CLinuxShims_get_dumpable() }

    /// The corresponding C function is `prctl` with `PR_SET_NAME`.
    static func setThreadName(_ name: String) -> Int32 { CLinuxShims_set_thread_name(name) }
}
