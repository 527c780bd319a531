import Testing
import TokenProxyCore

@testable import TokenProxy

/// The proxy injects only a token that will still be valid when the upstream checks it: one
/// with less than `Limits.Proxy.minimumTokenValidity` left waits for a fresh one (found by
/// `bench/soak`: tokens forwarded in their last milliseconds died on the way).
@Suite(.timeLimit(.minutes(1)))
struct ProxyRouterValidityTests {
    typealias F = ProxyRouterFixture

    @Test func aTokenInItsLastSecondIsNotInjectedAFreshOneIs() async throws {
        let tokens = FakeTokenSource()
        // FakeTokenSource's tokens live 300 s: this one has half a second left.
        tokens.preload("a", age: .seconds(300) - .milliseconds(500))
        let router = try F.router(
            [F.route(host: "a.example", upstream: "http://up")], tokens: tokens)
        let forward = try #require(
            await F.decide(router, F.head("GET", "http://a.example/x")).forward)
        #expect(forward.authorization == "Bearer token-a-2")
        #expect(tokens.fetches == 1)
    }

    @Test func aTokenWithMoreLeftIsInjectedFromTheCache() async throws {
        let tokens = FakeTokenSource()
        // A minute more than the minimum: a loaded machine (TSan, parallel builds) once spent
        // the two seconds this margin used to be between preload and decide.
        tokens.preload("a", age: .seconds(300) - Limits.Proxy.minimumTokenValidity - .seconds(60))
        let router = try F.router(
            [F.route(host: "a.example", upstream: "http://up")], tokens: tokens)
        let forward = try #require(
            await F.decide(router, F.head("GET", "http://a.example/x")).forward)
        #expect(forward.authorization == "Bearer token-a-1")
        #expect(tokens.fetches == 0)
    }
}
