import TokenProxyCore
import TokenProxyPosix

/// Reads what `/proc/PID` says about a Unix-socket caller (supplementary groups, systemd unit,
/// executable) for the per-credential access check and the audit trail.
///
/// `SO_PEERCRED` gives a pid that the kernel recorded at `connect`; by the time we read
/// `/proc/PID` that process may have exited and the pid been reused. The guard, as SPIRE's
/// peertracker does it: read the process's start time before and after the other files and
/// refuse a change, and require the uid of the process to be the one `SO_PEERCRED` reported.
/// What it cannot rule out — the pid reused *before* the first read, by a process of the same
/// uid — grants no more than that uid already has on its own: a uid match never needs
/// `/proc`, and a group or unit match needs `/proc` to agree with the kernel's uid.
enum CallerInspector {
    /// The caller's details, or nil when `/proc/PID` is gone, unreadable (`ProtectProc=` or
    /// `hidepid=` hiding other users' processes) or fails the guard.
    static func details(pid: Int32, uid: UInt32) -> ProcessDetails? {
        guard pid > 0 else { return nil }
        let base = "/proc/\(pid)"
        let limit = Limits.Host.procFileBytes
        guard let before = Posix.readKernelText(base + "/stat", limit: limit),
            let startTime = ProcessDetails.parseStartTime(stat: before),
            let statusText = Posix.readKernelText(base + "/status", limit: limit),
            let status = ProcessDetails.parseStatus(statusText)
        else { return nil }
        let cgroup = Posix.readKernelText(base + "/cgroup", limit: limit)
        let executable = Posix.readLink(base + "/exe")
        guard let after = Posix.readKernelText(base + "/stat", limit: limit),
            ProcessDetails.parseStartTime(stat: after) == startTime,
            status.uids.contains(uid)
        else { return nil }
        return ProcessDetails(
            supplementaryGroups: status.groups, uids: status.uids,
            unit: cgroup.flatMap { ProcessDetails.parseUnit(cgroup: $0) },
            executable: executable ?? "[\(status.name)]", startTime: startTime)
    }
}
