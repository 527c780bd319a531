import Testing

@testable import TokenProxyCore

/// Parsing `/proc/PID/status`, `stat` and `cgroup` text (proc(5)), as the kernel writes it.
@Suite(.timeLimit(.minutes(1)))
struct ProcessDetailsTests {
    static let status = """
        Name:\tcurl
        Umask:\t0022
        State:\tS (sleeping)
        Tgid:\t4242
        Pid:\t4242
        Uid:\t1001\t1001\t1001\t1001
        Gid:\t1001\t1001\t1001\t1001
        FDSize:\t64
        Groups:\t27 994 1001 
        NStgid:\t4242

        """

    @Test func readsNameUidsAndSupplementaryGroups() throws {
        let parsed = try #require(ProcessDetails.parseStatus(Self.status))
        #expect(parsed.name == "curl")
        #expect(parsed.uids == [1001, 1001, 1001, 1001])
        #expect(parsed.groups == [27, 994, 1001])
    }

    @Test func emptyGroupsLineMeansNoSupplementaryGroups() throws {
        let text = "Name:\tsh\nUid:\t0\t0\t0\t0\nGroups:\t\n"
        #expect(try #require(ProcessDetails.parseStatus(text)).groups.isEmpty)
    }

    @Test func statusWithoutUidIsRefused() {
        #expect(ProcessDetails.parseStatus("Name:\tx\nGroups:\t1\n") == nil)
        #expect(ProcessDetails.parseStatus("Name:\tx\nUid:\tone two\n") == nil)
    }

    @Test func startTimeIsField22CountedAfterTheLastParenthesis() {
        // A command name may contain spaces and ")": count fields after the last ")".
        let fields = (3...52).map { $0 == 22 ? "987654" : "\($0)" }.joined(separator: " ")
        #expect(ProcessDetails.parseStartTime(stat: "4242 (evil) name) " + fields) == 987_654)
        #expect(ProcessDetails.parseStartTime(stat: "4242 (short) S 1 2") == nil)
        #expect(ProcessDetails.parseStartTime(stat: "garbage") == nil)
    }

    @Test func unitFromAUnifiedCgroupPath() {
        #expect(
            ProcessDetails.parseUnit(cgroup: "0::/system.slice/billing.service\n")
                == "billing.service")
        #expect(
            ProcessDetails.parseUnit(
                cgroup: "0::/system.slice/system-worker.slice/worker@3.service/payload\n")
                == "worker@3.service")
        #expect(
            ProcessDetails.parseUnit(cgroup: "0::/user.slice/user-1000.slice/session-3.scope\n")
                == "session-3.scope")
        #expect(
            ProcessDetails.parseUnit(
                cgroup: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.service\n")
                == "user@1000.service")
    }

    @Test func unitFromTheSystemdLineOfAHybridHierarchy() {
        let text = """
            12:pids:/system.slice/billing.service
            1:name=systemd:/system.slice/billing.service
            0::/

            """
        #expect(ProcessDetails.parseUnit(cgroup: text) == "billing.service")
    }

    @Test func noUnitOutsideSystemd() {
        #expect(ProcessDetails.parseUnit(cgroup: "0::/\n") == nil)
        #expect(ProcessDetails.parseUnit(cgroup: "0::/docker/4f1c2b\n") == nil)
        #expect(ProcessDetails.parseUnit(cgroup: "0::/system.slice\n") == nil)
        #expect(ProcessDetails.parseUnit(cgroup: "") == nil)
    }
}
