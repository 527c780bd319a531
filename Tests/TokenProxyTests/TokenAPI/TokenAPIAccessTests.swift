import Foundation
import Glibc
import Testing
import TokenProxyCore
import TokenProxyNet

@testable import TokenProxy

/// The per-credential check (`credentialCheck`), and `CallerInspector` on this very process.
@Suite(.timeLimit(.minutes(1)))
struct TokenAPIAccessTests {
    private func api(rules: [String: AccessRule]) -> TokenAPI {
        let store = TokenStore(credentials: [], policies: [:], clients: [:], onEvent: { _ in })
        return TokenAPI(
            store: store, metrics: Metrics(),
            access: TokenAPI.AccessPolicy(
                allowsAnyPeer: true, allowedUIDs: [], allowedGIDs: [], ownUID: 4242),
            tcpRequirement: nil, rules: rules)
    }

    @Test func credentialWithoutRuleIsOpen() {
        let (refusal, _) = api(rules: [:]).credentialCheck(
            "open", peer: .unix(pid: 1, uid: 1000, gid: 1000))
        #expect(refusal == nil)
    }

    @Test func listedUidPassesOthersGet403NamingOnlyTheCredential() throws {
        let api = api(rules: ["billing": AccessRule(uids: [1000])])
        #expect(api.credentialCheck("billing", peer: .unix(pid: 1, uid: 1000, gid: 5)).0 == nil)
        let refusal = try #require(
            api.credentialCheck("billing", peer: .unix(pid: 1, uid: 1001, gid: 5)).0)
        #expect(refusal.status == 403)
        let body = String(decoding: refusal.body, as: UTF8.self)
        #expect(body.contains("'billing'"))
        #expect(!body.contains("1001"))
    }

    @Test func rootAndTheDaemonsOwnUserAlwaysPass() {
        let api = api(rules: ["billing": AccessRule(uids: [1000])])
        #expect(api.credentialCheck("billing", peer: .unix(pid: 1, uid: 0, gid: 0)).0 == nil)
        #expect(api.credentialCheck("billing", peer: .unix(pid: 1, uid: 4242, gid: 0)).0 == nil)
    }

    @Test func introspectionUsesTheSameCheck() async {
        let api = api(rules: ["billing": AccessRule(uids: [1000])])
        let response = await api.testResponse(
            to: HTTPServerRequest(
                head: HTTPRequestHead(
                    method: "POST", target: "/v1/introspect/billing", fields: [:]),
                body: Array("token=x".utf8), peer: .unix(pid: 1, uid: 1001, gid: 5),
                listener: "unix"))
        #expect(response.status == 403)
        #expect(String(decoding: response.body, as: UTF8.self).contains("'billing'"))
    }

    @Test func tcpCallersCarryNoIdentityAndAreRefused() {
        let api = api(rules: ["billing": AccessRule(uids: [1000])])
        #expect(
            api.credentialCheck("billing", peer: .tcp(address: "127.0.0.1", port: 1)).0?.status
                == 403)
    }

    @Test func inspectorReadsThisProcess() throws {
        let details = try #require(
            CallerInspector.details(pid: getpid(), uid: getuid()))
        var groups = [gid_t](repeating: 0, count: 256)
        let count = Int(getgroups(Int32(groups.count), &groups))
        #expect(details.supplementaryGroups == Set(groups[..<max(0, count)]))
        #expect(details.executable.hasPrefix("/"))
        #expect(details.startTime > 0)
    }

    @Test func aUidThatDisagreesWithProcIsNotTrustedForGroups() throws {
        // The PID-reuse guard: /proc/PID says uid getuid(), the "kernel" said another uid, so
        // the groups of /proc/PID are not this caller's.
        let own = try #require(CallerInspector.details(pid: getpid(), uid: getuid()))
        let other: UInt32 = getuid() == 54321 ? 54322 : 54321
        #expect(CallerInspector.details(pid: getpid(), uid: other) == nil)
        guard let group = own.supplementaryGroups.first else { return }
        let api = api(rules: ["billing": AccessRule(gids: [group])])
        #expect(
            api.credentialCheck("billing", peer: .unix(pid: getpid(), uid: other, gid: 99999))
                .0?.status == 403)
    }

    @Test func aGoneProcessHasNoDetails() {
        #expect(CallerInspector.details(pid: Int32.max - 1, uid: 0) == nil)
        #expect(CallerInspector.details(pid: 0, uid: 0) == nil)
    }
}
