import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct AccessRuleTests {
    private func details(groups: Set<UInt32> = [], unit: String? = nil) -> ProcessDetails {
        ProcessDetails(
            supplementaryGroups: groups, uids: [1001], unit: unit, executable: "/usr/bin/curl",
            startTime: 1)
    }

    @Test func uidOrPrimaryGidDecideWithoutProc() {
        let rule = AccessRule(uids: [1001], gids: [50])
        #expect(rule.allows(uid: 1001, gid: 7, details: nil))
        #expect(rule.allows(uid: 7, gid: 50, details: nil))
        #expect(!rule.allows(uid: 7, gid: 7, details: nil))
    }

    @Test func supplementaryGroupsCount() {
        let rule = AccessRule(gids: [994])
        #expect(rule.allows(uid: 7, gid: 7, details: details(groups: [27, 994])))
        #expect(!rule.allows(uid: 7, gid: 7, details: details(groups: [27])))
        #expect(rule.needsProcessDetails)
    }

    @Test func unitMatchesExactly() {
        let rule = AccessRule(units: ["billing.service"])
        #expect(rule.allows(uid: 7, gid: 7, details: details(unit: "billing.service")))
        #expect(!rule.allows(uid: 7, gid: 7, details: details(unit: "billing2.service")))
        #expect(!rule.allows(uid: 7, gid: 7, details: details(unit: nil)))
    }

    @Test func unreadableProcGrantsNothingBeyondTheKernelsIds() {
        let rule = AccessRule(gids: [994], units: ["billing.service"])
        #expect(!rule.allows(uid: 7, gid: 7, details: nil))
        #expect(!AccessRule(uids: [1]).needsProcessDetails)
    }
}
