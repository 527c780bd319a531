import Glibc

/// This process's identity, for access decisions (the daemon's own user may always read its
/// tokens; a key file may be shared with the daemon through one of its groups).
package enum ProcessIdentity {
    /// The real user id. The corresponding C function is `getuid`.
    package static var userID: UInt32 { getuid() }
    /// The effective user id, the one the kernel checks file access with. The corresponding C
    /// function is `geteuid`.
    package static var effectiveUserID: UInt32 { geteuid() }
    /// The effective group id and the supplementary groups: every group whose permission bits
    /// let this process read a file (in a Kubernetes pod, `runAsGroup` and `fsGroup`). The
    /// corresponding C functions are `getegid` and `getgroups`.
    package static var groupIDs: Set<UInt32> {
        var groups: Set<UInt32> = [getegid()]
        let count = getgroups(0, nil)
        guard count > 0 else { return groups }
        var buffer = [gid_t](repeating: 0, count: Int(count))
        let filled = getgroups(count, &buffer)
        if filled > 0 {
            for group in buffer.prefix(Int(filled)) { groups.insert(UInt32(group)) }
        }
        return groups
    }
    /// The process id. The corresponding C function is `getpid`.
    package static var processID: Int32 { getpid() }
}
