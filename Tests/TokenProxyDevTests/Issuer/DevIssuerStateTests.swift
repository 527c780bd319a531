import Testing
import TokenProxyCore

@testable import TokenProxy
@testable import TokenProxyDev

@Suite(.timeLimit(.minutes(1)))
struct DevIssuerStateTests {
    @Test func jtiIsRememberedUntilItsDeadlineThenForgotten() {
        var state = DevIssuerState(issuer: nil, maximumJTIs: 10, maximumTokens: 10)
        #expect(state.useJTI("a", clientID: "c", rememberUntil: 100, now: 50) == .fresh)
        #expect(state.useJTI("a", clientID: "c", rememberUntil: 100, now: 99) == .reused)
        #expect(state.useJTI("a", clientID: "other", rememberUntil: 100, now: 99) == .fresh)
        #expect(state.useJTI("a", clientID: "c", rememberUntil: 200, now: 101) == .fresh)
    }

    @Test func fullReplayStoreEvictsExpiredEntriesAndOtherwiseRefuses() {
        var state = DevIssuerState(issuer: nil, maximumJTIs: 2, maximumTokens: 10)
        #expect(state.useJTI("a", clientID: "c", rememberUntil: 10, now: 0) == .fresh)
        #expect(state.useJTI("b", clientID: "c", rememberUntil: 100, now: 0) == .fresh)
        #expect(state.useJTI("c", clientID: "c", rememberUntil: 100, now: 5) == .storeFull)
        #expect(state.useJTI("c", clientID: "c", rememberUntil: 100, now: 20) == .fresh)
        #expect(state.usedJTIs.count == 2)
    }

    @Test func fullTokenStoreForgetsExpiredThenSoonestExpiring() {
        var state = DevIssuerState(issuer: nil, maximumJTIs: 10, maximumTokens: 2)
        func record(_ expiresAt: Int64) -> DevIssuerState.IssuedToken {
            .init(clientID: "c", scope: [], issuedAt: 0, expiresAt: expiresAt)
        }
        state.remember(token: "t1", record(50), now: 0)
        state.remember(token: "t2", record(100), now: 0)
        state.remember(token: "t3", record(100), now: 10)
        #expect(state.issuedTokens.count == 2)
        #expect(state.activeToken("t1", now: 10) == nil)
        #expect(state.activeToken("t2", now: 10) != nil)
        state.remember(token: "t4", record(200), now: 60)
        #expect(state.issuedTokens.count == 2)
        #expect(state.activeToken("t4", now: 60) != nil)
        #expect(state.activeToken("t3", now: 100) == nil)
    }
}
