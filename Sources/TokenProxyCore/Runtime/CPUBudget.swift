/// How many event loops to run: the CPUs the process may actually use, from its affinity mask
/// and its cgroup v2 CPU quota, or the operator's choice.
///
/// Why not the machine's CPU count (`activeProcessorCount`): under `taskset -c 0` it still
/// reports every CPU, and two loops time-slicing one pinned CPU cost a p99 of milliseconds; a
/// sidecar limited to 0.5 CPU on a 64-core node must not start 64 loops that the CFS quota
/// throttles together.
package struct CPUBudget: Sendable, Equatable, CustomStringConvertible {
    /// The number of loops to start (at least 1).
    package var loops: Int
    /// Why, in words for the start-up log line.
    package var reason: String
    /// Whether a cgroup CPU quota bounds the process (read even when the loops are
    /// configured): polling would spend that quota (`busyPollMicroseconds(configured:)`).
    package var quotaLimited = false

    package var description: String { "\(loops) (\(reason))" }

    /// The loop count from the configured value (if any), the affinity mask's CPU count, and a
    /// cgroup quota in CPUs (nil: no quota or no cgroup v2). The smaller of affinity and
    /// quota wins; a configured value wins over both.
    package static func decide(configured: Int?, affinityCPUs: Int, quotaCPUs: Int?) -> CPUBudget {
        if let configured {
            return CPUBudget(loops: max(1, configured), reason: "api.event_loops in the config")
        }
        let affinity = max(1, affinityCPUs)
        if let quotaCPUs, quotaCPUs < affinity {
            return CPUBudget(
                loops: max(1, quotaCPUs),
                reason: "cgroup CPU quota (cpu.max) of \(quotaCPUs); affinity allows \(affinity)")
        }
        let quotaText = quotaCPUs.map { "cgroup CPU quota \($0)" } ?? "no cgroup CPU quota"
        return CPUBudget(loops: affinity, reason: "CPU affinity allows \(affinity); \(quotaText)")
    }

    /// How long the loops poll before they block (`api.busy_poll_us`, see `EventLoopPoll`):
    /// the configured value, else `Limits.EventLoop.defaultBusyPollMicroseconds` — or 0 under
    /// a cgroup CPU quota, where polled time counts against the quota (a sidecar limited to
    /// half a CPU would spend its share spinning and be throttled sooner).
    package func busyPollMicroseconds(configured: Int?) -> Int {
        if let configured { return max(0, configured) }
        return quotaLimited ? 0 : Limits.EventLoop.defaultBusyPollMicroseconds
    }

    /// The path of this process's cgroup v2 group, from the text of `/proc/self/cgroup`: the
    /// line `0::/PATH` (cgroup v2 has hierarchy id 0 and no controller list). Nil without one
    /// (a pure cgroup v1 system), or for malformed text.
    package static func cgroupV2Path(procSelfCgroup text: String) -> String? {
        for line in text.split(separator: "\n") {
            guard line.hasPrefix("0::") else { continue }
            let path = line.dropFirst(3)
            guard path.hasPrefix("/") else { return nil }
            return String(path)
        }
        return nil
    }

    /// The quota in whole CPUs from the text of a cgroup v2 `cpu.max` ("QUOTA PERIOD" in
    /// microseconds, or "max PERIOD" for none): ceil(quota / period), at least 1, so half a
    /// CPU still gets one loop. Nil for "max" and for text that is not two positive numbers.
    package static func quotaCPUs(cpuMax text: String) -> Int? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard parts.count == 2, parts[0] != "max",
            let quota = Int(parts[0]), let period = Int(parts[1]), quota > 0, period > 0
        else { return nil }
        let (whole, rest) = quota.quotientAndRemainder(dividingBy: period)
        return max(1, whole + (rest > 0 ? 1 : 0))
    }

    /// The `cpu.max` files that bound a process in cgroup `path` under `root`: its own group's
    /// and every ancestor's (a container runtime often sets the quota one level up), nearest
    /// first. The root group has no `cpu.max`.
    package static func cpuMaxPaths(cgroup path: String, root: String = "/sys/fs/cgroup")
        -> [String]
    {
        var parts = path.split(separator: "/").filter { $0 != "." && $0 != ".." }
        var paths: [String] = []
        while !parts.isEmpty {
            paths.append(root + "/" + parts.joined(separator: "/") + "/cpu.max")
            parts.removeLast()
        }
        return paths
    }
}
