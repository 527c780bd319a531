import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct IntrospectionCachePolicyTests {
    let now = 1_700_000_000.0

    func active(exp: Int64?) -> IntrospectionAnswer {
        IntrospectionAnswer(active: true, expiresAt: exp, json: [])
    }

    @Test func activeKeptUntilExpCappedByTTL() {
        let policy = IntrospectionCachePolicy(activeTTL: .seconds(60), inactiveTTL: .seconds(5))
        #expect(policy.lifetime(of: active(exp: 1_700_000_010), unixNow: now) == .seconds(10))
        #expect(policy.lifetime(of: active(exp: 1_700_003_600), unixNow: now) == .seconds(60))
        #expect(policy.lifetime(of: active(exp: nil), unixNow: now) == .seconds(60))
    }

    @Test func expiredOrZeroTTLIsNotKept() {
        let policy = IntrospectionCachePolicy(activeTTL: .seconds(60), inactiveTTL: .seconds(5))
        #expect(policy.lifetime(of: active(exp: 1_700_000_000), unixNow: now) == nil)
        #expect(policy.lifetime(of: active(exp: 1_600_000_000), unixNow: now) == nil)
        let always = IntrospectionCachePolicy(activeTTL: .zero, inactiveTTL: .zero)
        #expect(always.lifetime(of: active(exp: 1_700_003_600), unixNow: now) == nil)
        #expect(always.lifetime(of: .inactive, unixNow: now) == nil)
    }

    @Test func inactiveKeptBriefly() {
        let policy = IntrospectionCachePolicy(activeTTL: .seconds(60), inactiveTTL: .seconds(5))
        #expect(policy.lifetime(of: .inactive, unixNow: now) == .seconds(5))
    }
}
