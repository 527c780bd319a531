import TokenProxyPosix

/// Who besides this process may read a key file, and whether tokenproxy accepts that.
///
/// The rule extends ssh's (a private key must not be accessible by group or others) by one
/// case that a host never needs and a Kubernetes Secret volume cannot avoid: the kubelet
/// mounts Secret files owned by root, and with the pod's `fsGroup` it adds group read, so
/// `defaultMode: 0400` becomes 0440 (kubernetes/kubernetes#57923) and no `chmod` can change it.
/// A key is therefore accepted when group or others have no bit, or when all of these hold:
/// - others have no bit, and the group may only read (no write, no execute);
/// - another user owns the file — a file this process owns it can restrict itself, so ssh's
///   0600 rule stays for every key a host's service user owns;
/// - the file's group is one of this process's groups (effective or supplementary: `fsGroup`),
///   and not group 0, which on most systems many system services share.
/// So a group-readable key is readable only by its owner (root) and the group the operator put
/// this process in. Everything else is refused unless `allow_insecure_key_permissions`.
package struct KeyFilePermissions: Sendable, Equatable {
    /// The effective user id of the reading process.
    package var userID: UInt32
    /// The groups of the reading process (effective and supplementary).
    package var groupIDs: Set<UInt32>

    package init(userID: UInt32, groupIDs: Set<UInt32>) {
        self.userID = userID
        self.groupIDs = groupIDs
    }

    /// This process, as the kernel sees it when it opens a file.
    package static var currentProcess: KeyFilePermissions {
        KeyFilePermissions(
            userID: ProcessIdentity.effectiveUserID, groupIDs: ProcessIdentity.groupIDs)
    }

    /// Why a key file's permissions were refused; `CryptoError.keyFileInsecurePermissions`
    /// turns each into a message naming the fix and the setting that accepts it anyway.
    package enum Refusal: Sendable, Equatable {
        /// Others have a permission bit.
        case others
        /// The group may write or execute the file.
        case groupMayWrite
        /// The group may read, and the file belongs to this process's own user (who can
        /// `chmod 600` it).
        case ownedByThisUser
        /// The group may read, and it is group 0.
        case rootGroup
        /// The group may read, and this process is not in it.
        case foreignGroup(UInt32)
    }

    /// Nil when the file may be used as a key, else why not.
    package func refusal(for status: FileStatus) -> Refusal? {
        let group = status.mode & 0o070
        if status.mode & 0o007 != 0 { return .others }
        if group == 0 { return nil }
        if group != 0o040 { return .groupMayWrite }
        if status.owner == userID { return .ownedByThisUser }
        if status.group == 0 { return .rootGroup }
        if !groupIDs.contains(status.group) { return .foreignGroup(status.group) }
        return nil
    }
}
