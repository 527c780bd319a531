import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct GuardVerdictTests {
    let now = 1_700_000_000.0

    func answer(scope: String = "a b", aud: [String] = [], exp: Int64? = 1_700_000_100)
        -> IntrospectionAnswer
    {
        IntrospectionAnswer(
            active: true, scopes: scope.split(separator: " ").map(String.init), clientID: "c",
            subject: "s", audience: aud, expiresAt: exp, json: [])
    }

    @Test func allowsWithClaimHeadersInOrder() {
        let config = ProxyGuardConfiguration(
            credential: "x", requireScopes: ["a"],
            forwardClaims: [
                .init(claim: .scope, header: "X-Scope"), .init(claim: .sub, header: "X-Sub"),
                .init(claim: .username, header: "X-User"),
            ])
        #expect(
            config.verdict(for: answer(), unixNow: now)
                == .allow(headers: [
                    GuardHeader(name: "X-Scope", value: "a b"),
                    GuardHeader(name: "X-Sub", value: "s"),
                ]))
    }

    @Test func refusals() {
        let config = ProxyGuardConfiguration(
            credential: "x", requireScopes: ["a", "c"], requireAudience: "api")
        #expect(
            config.verdict(for: .inactive, unixNow: now)
                == .invalidToken("the access token is not active"))
        #expect(
            config.verdict(for: answer(aud: ["api"], exp: 1_699_999_999), unixNow: now)
                == .invalidToken("the access token expired"))
        #expect(
            config.verdict(for: answer(aud: ["other"]), unixNow: now)
                == .invalidToken("the access token is not meant for this API (aud)"))
        #expect(
            config.verdict(for: answer(aud: ["api"]), unixNow: now)
                == .insufficientScope(required: ["a", "c"]))
    }

    @Test func claimValuesThatCannotBeHeadersAreLeftOut() {
        var bad = answer()
        bad.subject = "evil\r\nX-Injected: 1"
        let config = ProxyGuardConfiguration(
            credential: "x", forwardClaims: [.init(claim: .sub, header: "X-Sub")])
        #expect(config.verdict(for: bad, unixNow: now) == .allow(headers: []))
    }
}
