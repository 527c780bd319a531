/// What `/proc/PID` says about a caller beyond `SO_PEERCRED`: its supplementary groups, its
/// systemd unit, its executable. Parsed here from the files' text (pure); read by
/// `ProcessDetails+Read` in TokenProxyPosix, which also applies the PID-reuse guard.
package struct ProcessDetails: Sendable, Equatable {
    /// `Groups:` of `/proc/PID/status`.
    package var supplementaryGroups: Set<UInt32>
    /// Real, effective uid from `Uid:` (the guard compares them with `SO_PEERCRED`).
    package var uids: [UInt32]
    /// The system unit from `/proc/PID/cgroup` (`billing.service`), `nil` outside one.
    package var unit: String?
    /// `/proc/PID/exe`, or the `Name:` of status in brackets when the link is not readable
    /// (another user's process without `CAP_SYS_PTRACE`).
    package var executable: String
    /// Field 22 of `/proc/PID/stat`: start time in clock ticks after boot. The same PID with
    /// another start time is another process.
    package var startTime: UInt64

    package init(
        supplementaryGroups: Set<UInt32>, uids: [UInt32], unit: String?, executable: String,
        startTime: UInt64
    ) {
        self.supplementaryGroups = supplementaryGroups
        self.uids = uids
        self.unit = unit
        self.executable = executable
        self.startTime = startTime
    }

    /// `(Name, Uid values, Groups)` from the text of `/proc/PID/status` (proc(5)).
    package static func parseStatus(_ text: String) -> (
        name: String, uids: [UInt32], groups: Set<UInt32>
    )? {
        var name = ""
        var uids: [UInt32]?
        var groups: Set<UInt32> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Name:") {
                name = line.dropFirst(5).trimmingSpaces()
            } else if line.hasPrefix("Uid:") {
                uids = numbers(line.dropFirst(4))
            } else if line.hasPrefix("Groups:") {
                groups = Set(numbers(line.dropFirst(7)) ?? [])
            }
        }
        guard let uids, !uids.isEmpty else { return nil }
        return (name, uids, groups)
    }

    /// The start time (field 22) from `/proc/PID/stat`. The command name (field 2) is in
    /// parentheses and may itself contain spaces and `)`, so fields are counted after the
    /// *last* `)`.
    package static func parseStartTime(stat: String) -> UInt64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ")" come field 3 (state) onwards, so field 22 is at index 19.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// The systemd unit a process runs in, from `/proc/PID/cgroup`: the unified (`0::`) line,
    /// or the `name=systemd` line on a hybrid hierarchy. The unit is the first path component
    /// after the slices (`/system.slice/billing.service/…` → `billing.service`), as
    /// `sd_pid_get_unit` answers; a user's session or user manager gives its own unit
    /// (`session-3.scope`, `user@1000.service`).
    package static func parseUnit(cgroup: String) -> String? {
        var unified: Substring?
        var named: Substring?
        for line in cgroup.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0" && parts[1].isEmpty { unified = parts[2] }
            if parts[1] == "name=systemd" { named = parts[2] }
        }
        let path = (unified.flatMap { $0 == "/" ? nil : $0 }) ?? named
        guard let path else { return nil }
        for component in path.split(separator: "/") where !component.hasSuffix(".slice") {
            return isUnitName(component) ? String(component) : nil
        }
        return nil
    }

    private static let unitSuffixes = [".service", ".scope", ".socket", ".mount", ".swap"]

    private static func isUnitName(_ text: Substring) -> Bool {
        unitSuffixes.contains { text.hasSuffix($0) && text.count > $0.count }
    }

    private static func numbers(_ text: Substring) -> [UInt32]? {
        let values = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { UInt32($0) }
        guard !values.contains(nil) else { return nil }
        return values.compactMap { $0 }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(
            drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: {
                $0 == " " || $0 == "\t"
            }).reversed())
    }
}
