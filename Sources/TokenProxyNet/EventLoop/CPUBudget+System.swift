import TokenProxyCore
import TokenProxyPosix

extension CPUBudget {
    /// The loop count for this process: `configured` if set, else the smaller of the CPUs in
    /// its affinity mask and its cgroup v2 CPU quota (the tightest `cpu.max` of its group and
    /// the groups above it). Without cgroup v2 (a v1 system, `/sys` hidden) only the affinity
    /// counts; if even that cannot be read, one loop. The quota is read either way, for
    /// `quotaLimited`.
    package static func measure(configured: Int?) -> CPUBudget {
        let affinity = (try? Posix.schedGetAffinityCount()) ?? 1
        var quota: Int?
        if let text = Posix.readKernelText("/proc/self/cgroup"),
            let group = cgroupV2Path(procSelfCgroup: text)
        {
            for path in cpuMaxPaths(cgroup: group) {
                guard let cpuMax = Posix.readKernelText(path), let cpus = quotaCPUs(cpuMax: cpuMax)
                else { continue }
                quota = min(quota ?? cpus, cpus)
            }
        }
        var budget = decide(configured: configured, affinityCPUs: affinity, quotaCPUs: quota)
        budget.quotaLimited = quota != nil
        return budget
    }
}
