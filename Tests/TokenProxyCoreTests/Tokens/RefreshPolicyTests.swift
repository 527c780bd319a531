import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct RefreshPolicyTests {
    let policy = RefreshPolicy()

    @Test(arguments: [
        (4.0, 2.0),  // a test token: fraction rule alone
        (60.0, 30.0),  // at minBeforeExpiry: fraction rule alone
        (61.0, 30.5),  // just above: still the fraction point, no discontinuity
        (120.0, 60.0),  // fraction and the 60 s margin coincide
        (200.0, 60.0),  // beforeExpiry would say "now": the 60 s floor keeps it from looping
        (301.0, 60.0),
        (400.0, 100.0),  // beforeExpiry comes first
        (600.0, 300.0),  // both rules agree
        (3600.0, 1800.0),  // fraction comes first
        (43200.0, 21600.0),  // 12 h → 6 h
    ])
    func targetsTheDocumentedRefreshPoint(lifetime: Double, expected: Double) {
        #expect(policy.targetRefreshDelay(lifetime: .seconds(lifetime)) == .seconds(expected))
    }

    @Test(arguments: [
        1.0, 4, 30, 59, 60, 61, 90, 100, 119, 120, 121, 200, 301, 360, 600, 3600, 43200,
    ])
    func jitterNeverPassesTheLatestPointNorExpiry(lifetime: Double) {
        let lifetime = Duration.seconds(lifetime)
        let latest = policy.latestRefreshDelay(lifetime: lifetime)
        #expect(latest < lifetime)
        if lifetime > .seconds(120) {
            #expect(latest == lifetime - .seconds(60))  // the minBeforeExpiry margin holds
        }
        for unit in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let delay = policy.refreshDelay(lifetime: lifetime, unit: unit)
            #expect(delay >= .zero)
            #expect(delay <= latest)
        }
    }

    @Test func jitterSpreadsByTenPercentEachWay() {
        let lifetime = Duration.seconds(43200)
        #expect(policy.refreshDelay(lifetime: lifetime, unit: 0) == .seconds(19440))
        #expect(policy.refreshDelay(lifetime: lifetime, unit: 0.5) == .seconds(21600))
        #expect(policy.refreshDelay(lifetime: lifetime, unit: 1) == .seconds(23760))
    }

    @Test func jitterUpwardsIsClampedAtTheMargin() {
        // 120 s: the target (60 s) already sits on the latest point, so only earlier is allowed.
        #expect(policy.refreshDelay(lifetime: .seconds(120), unit: 1) == .seconds(60))
        #expect(policy.refreshDelay(lifetime: .seconds(120), unit: 0) == .seconds(54))
        // 4 s: same at the fraction point.
        #expect(policy.refreshDelay(lifetime: .seconds(4), unit: 1) == .seconds(2))
        #expect(policy.refreshDelay(lifetime: .seconds(4), unit: 0) == .seconds(1.8))
    }

    @Test func seededDrawsStayWithinBounds() {
        var random = SeededRandom(seed: 42)
        for _ in 0..<2000 {
            let lifetime = Duration.seconds(Double.random(in: 0.5...100_000, using: &random))
            let delay = policy.refreshDelay(lifetime: lifetime, using: &random)
            #expect(delay >= .zero && delay <= policy.latestRefreshDelay(lifetime: lifetime))
        }
    }

    @Test func backoffCeilingDoublesUpToTheCap() {
        let ceilings = (1...12).map { policy.backoffCeiling(consecutiveFailures: $0) }
        let expected: [Duration] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300].map {
            .seconds($0)
        }
        #expect(ceilings == expected)
        #expect(policy.backoffCeiling(consecutiveFailures: 10_000) == .seconds(300))
        #expect(policy.backoffCeiling(consecutiveFailures: 0) == .seconds(1))
    }

    @Test func transientFailuresUseFullJitter() {
        for failures in 1...15 {
            let ceiling = policy.backoffCeiling(consecutiveFailures: failures)
            #expect(
                policy.retryDelay(consecutiveFailures: failures, category: .unavailable, unit: 0)
                    == .zero)
            #expect(
                policy.retryDelay(consecutiveFailures: failures, category: .unavailable, unit: 1)
                    == ceiling
            )
            #expect(
                policy.retryDelay(consecutiveFailures: failures, category: .unavailable, unit: 0.5)
                    == ceiling / 2)
        }
    }

    @Test(arguments: [TokenFetchFailureCategory.credentialRejected, .configuration])
    func rejectedCredentialsUseTheSlowSchedule(category: TokenFetchFailureCategory) {
        for failures in [1, 2, 5, 50] {
            #expect(
                policy.retryDelay(consecutiveFailures: failures, category: category, unit: 0)
                    == .seconds(150))
            #expect(
                policy.retryDelay(consecutiveFailures: failures, category: category, unit: 1)
                    == .seconds(300))
        }
    }

    @Test func generatorDrivenDelaysUseTheUnitExtremes() {
        var low = FixedRandom.zero
        var high = FixedRandom.max
        #expect(policy.refreshDelay(lifetime: .seconds(600), using: &low) == .seconds(270))
        #expect(policy.refreshDelay(lifetime: .seconds(600), using: &high) == .seconds(330))
        #expect(
            policy.retryDelay(consecutiveFailures: 3, category: .unavailable, using: &high)
                == .seconds(4)
        )
    }

    @Test func missingExpiresInFallsBackToTheDefaultLifetime() {
        #expect(policy.defaultLifetime == .seconds(300))
        #expect(RefreshPolicy(defaultLifetime: .seconds(900)).defaultLifetime == .seconds(900))
    }
}
