/// A credential's `allow` with names resolved to ids: the one decision "may this caller have
/// this credential's token?", pure so that it is tested without processes.
package struct AccessRule: Sendable, Equatable {
    package var uids: Set<UInt32>
    package var gids: Set<UInt32>
    package var units: Set<String>

    package init(uids: Set<UInt32> = [], gids: Set<UInt32> = [], units: Set<String> = []) {
        self.uids = uids
        self.gids = gids
        self.units = units
    }

    /// Whether deciding needs more than `SO_PEERCRED` gives: supplementary groups and the unit
    /// come from `/proc/PID`, which costs a few reads per request.
    package var needsProcessDetails: Bool { !gids.isEmpty || !units.isEmpty }

    /// Whether `caller` matches one entry. `details` is `nil` when `/proc/PID` could not be
    /// read or the PID-reuse guard failed: then only the uid and the primary gid (both from
    /// the kernel's `SO_PEERCRED`) count, never a group or unit that might be another
    /// process's.
    package func allows(uid: UInt32, gid: UInt32, details: ProcessDetails?) -> Bool {
        if uids.contains(uid) || gids.contains(gid) { return true }
        guard let details else { return false }
        if !gids.isDisjoint(with: details.supplementaryGroups) { return true }
        if let unit = details.unit, units.contains(unit) { return true }
        return false
    }
}
