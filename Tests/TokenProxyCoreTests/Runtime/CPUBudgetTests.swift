import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct CPUBudgetTests {
    @Test func readsTheCgroupV2Path() {
        #expect(
            CPUBudget.cgroupV2Path(procSelfCgroup: "0::/system.slice/tokenproxy.service\n")
                == "/system.slice/tokenproxy.service")
        #expect(CPUBudget.cgroupV2Path(procSelfCgroup: "0::/\n") == "/")
    }

    @Test func findsTheV2LineInAHybridHierarchy() {
        let hybrid = "12:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice\n0::/user.slice/a\n"
        #expect(CPUBudget.cgroupV2Path(procSelfCgroup: hybrid) == "/user.slice/a")
    }

    @Test func hasNoPathOnCgroupV1OrMalformedText() {
        #expect(CPUBudget.cgroupV2Path(procSelfCgroup: "4:cpu,cpuacct:/docker/abc\n") == nil)
        #expect(CPUBudget.cgroupV2Path(procSelfCgroup: "") == nil)
        #expect(CPUBudget.cgroupV2Path(procSelfCgroup: "0::relative\n") == nil)
        #expect(CPUBudget.cgroupV2Path(procSelfCgroup: "garbage") == nil)
    }

    @Test func readsNoQuotaFromMax() {
        #expect(CPUBudget.quotaCPUs(cpuMax: "max 100000\n") == nil)
    }

    @Test func roundsQuotasUpToWholeCPUs() {
        #expect(CPUBudget.quotaCPUs(cpuMax: "50000 100000\n") == 1)
        #expect(CPUBudget.quotaCPUs(cpuMax: "100000 100000\n") == 1)
        #expect(CPUBudget.quotaCPUs(cpuMax: "150000 100000\n") == 2)
        #expect(CPUBudget.quotaCPUs(cpuMax: "400000 100000") == 4)
        #expect(CPUBudget.quotaCPUs(cpuMax: "1000 100000\n") == 1)
    }

    @Test func ignoresMalformedCPUMax() {
        for text in ["", "\n", "100000", "abc 100000", "50000 0", "-5 100000", "1 2 3", "max"] {
            #expect(CPUBudget.quotaCPUs(cpuMax: text) == nil, "\(text)")
        }
    }

    @Test func listsTheGroupAndItsAncestors() {
        #expect(
            CPUBudget.cpuMaxPaths(cgroup: "/a/b.slice", root: "/cg")
                == ["/cg/a/b.slice/cpu.max", "/cg/a/cpu.max"])
        #expect(CPUBudget.cpuMaxPaths(cgroup: "/") == [])
    }

    @Test func takesTheSmallerOfAffinityAndQuota() {
        #expect(CPUBudget.decide(configured: nil, affinityCPUs: 64, quotaCPUs: 1).loops == 1)
        #expect(CPUBudget.decide(configured: nil, affinityCPUs: 1, quotaCPUs: 4).loops == 1)
        #expect(CPUBudget.decide(configured: nil, affinityCPUs: 8, quotaCPUs: nil).loops == 8)
        #expect(CPUBudget.decide(configured: nil, affinityCPUs: 0, quotaCPUs: nil).loops == 1)
    }

    @Test func prefersTheConfiguredCount() {
        let budget = CPUBudget.decide(configured: 3, affinityCPUs: 1, quotaCPUs: 1)
        #expect(budget.loops == 3)
        #expect(budget.reason.contains("api.event_loops"))
    }

    @Test func saysWhyInTheReason() {
        #expect(
            CPUBudget.decide(configured: nil, affinityCPUs: 64, quotaCPUs: 1).reason.contains(
                "cpu.max"))
        #expect(
            CPUBudget.decide(configured: nil, affinityCPUs: 2, quotaCPUs: nil).reason.contains(
                "affinity"))
    }

    @Test func pollsByDefaultUnlessACgroupQuotaBoundsTheProcess() {
        var budget = CPUBudget.decide(configured: nil, affinityCPUs: 2, quotaCPUs: nil)
        #expect(
            budget.busyPollMicroseconds(configured: nil)
                == Limits.EventLoop.defaultBusyPollMicroseconds)
        budget.quotaLimited = true
        #expect(budget.busyPollMicroseconds(configured: nil) == 0)
        // The operator's value wins either way.
        #expect(budget.busyPollMicroseconds(configured: 50) == 50)
        budget.quotaLimited = false
        #expect(budget.busyPollMicroseconds(configured: 0) == 0)
    }
}
