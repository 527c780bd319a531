import Foundation
import Testing
import TokenProxyCore
import TokenProxyNet

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct ProxyRouterUnauthorizedTests {
    typealias F = ProxyRouterFixture

    static let route = F.route(host: "api.example.com", upstream: "https://api.example.com")

    func forwarded(_ router: ProxyRouter) async throws -> ProxyForward {
        try #require(await F.decide(router, F.head("GET", "http://api.example.com/")).forward)
    }

    @Test func aBurstOfUnauthorizedForTheSameTokenRefreshesOnce() async throws {
        let tokens = FakeTokenSource()
        let router = try F.router([Self.route], tokens: tokens)
        let rejected = try await forwarded(router)
        #expect(rejected.authorization == "Bearer token-a-1")
        var answers: [String?] = []
        for _ in 0..<5 { answers.append(await router.authorizationAfterUnauthorized(rejected)) }
        #expect(answers == Array(repeating: "Bearer token-a-2", count: 5))
        #expect(tokens.refreshes == 1)
    }

    @Test func anOlderRejectedTokenGetsTheCurrentOneWithoutARefresh() async throws {
        let tokens = FakeTokenSource()
        let router = try F.router([Self.route], tokens: tokens)
        let old = try await forwarded(router)
        tokens.preload("a")  // a newer token arrived meanwhile (scheduled refresh)
        let answer = await F.onThread { await router.authorizationAfterUnauthorized(old) }
        #expect(answer == "Bearer token-a-2")
        #expect(tokens.refreshes == 0)
    }

    @Test func passesTheUnauthorizedOnWhenNoTokenComes() async throws {
        let tokens = FakeTokenSource()
        let router = try F.router([Self.route], tokens: tokens)
        let rejected = try await forwarded(router)
        tokens.fail(
            with: .unavailable(
                name: "a", category: .unavailable, message: "down", retryAfter: .seconds(5)))
        #expect(await F.onThread { await router.authorizationAfterUnauthorized(rejected) } == nil)
    }

    @Test func retriesOnlyTowardTheSameUpstreamAfterAReload() async throws {
        let tokens = FakeTokenSource()
        let router = try F.router([Self.route], tokens: tokens)
        let rejected = try await forwarded(router)
        let slot = ProxyRouterSlot(router)
        slot.swap(
            try F.router(
                [F.route(host: "api.example.com", upstream: "https://elsewhere.example")],
                tokens: tokens))
        #expect(await F.onThread { await slot.authorizationAfterUnauthorized(rejected) } == nil)
        slot.swap(
            try F.router(
                [F.route(host: "other.example", upstream: "https://api.example.com")],
                tokens: tokens))
        #expect(await F.onThread { await slot.authorizationAfterUnauthorized(rejected) } == nil)
        slot.swap(try F.router([Self.route], tokens: tokens))
        #expect(
            await F.onThread { await slot.authorizationAfterUnauthorized(rejected) }
                == "Bearer token-a-2"
        )
        #expect(tokens.refreshes == 1)
    }

    @Test func theSlotRoutesWithTheNewestRouter() async throws {
        let slot = ProxyRouterSlot(try F.router([Self.route]))
        let head = F.head("GET", "http://new.example/")
        #expect(
            await F.onThread { await slot.decide(head, peer: F.peer, listener: "proxy") }.response?
                .status
                == 403)
        slot.swap(try F.router([F.route(host: "new.example", upstream: "https://new.example")]))
        #expect(
            await F.onThread { await slot.decide(head, peer: F.peer, listener: "proxy") }.forward
                != nil)
    }
}
