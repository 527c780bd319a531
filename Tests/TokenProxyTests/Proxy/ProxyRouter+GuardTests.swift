import Foundation
import Synchronization
import Testing
import TokenProxyCore
import TokenProxyNet

@testable import TokenProxy

/// Introspection without an IdP: answers from a table, counts asks, fails on request.
final class FakeIntrospection: ProxyIntrospectionSource {
    struct State {
        var answers: [String: IntrospectionAnswer] = [:]
        var cached: Set<String> = []
        var asks = 0
        var failure: IntrospectionError?
    }

    let state = Mutex(State())
    var asks: Int { state.withLock { $0.asks } }

    func cachedAnswer(_ name: String, token: Redacted<String>) -> IntrospectionAnswer? {
        state.withLock { $0.cached.contains(token.value) ? $0.answers[token.value] : nil }
    }

    func introspect(_ name: String, token: Redacted<String>, hint: String?)
        async throws(IntrospectionError) -> IntrospectionAnswer
    {
        let result: Result<IntrospectionAnswer, IntrospectionError> = state.withLock { state in
            state.asks += 1
            if let failure = state.failure { return .failure(failure) }
            state.cached.insert(token.value)
            return .success(state.answers[token.value] ?? .inactive)
        }
        return try result.get()
    }

    static func active(scope: String, subject: String = "user-1") -> IntrospectionAnswer {
        IntrospectionAnswer(
            active: true, scopes: scope.split(separator: " ").map(String.init),
            clientID: "client-1", subject: subject,
            expiresAt: Int64(Date().timeIntervalSince1970) + 300, json: [])
    }
}

@Suite(.timeLimit(.minutes(1)))
struct ProxyRouterGuardTests {
    typealias F = ProxyRouterFixture

    static func guardedRoute(credential: String? = nil, forwardToken: Bool = false) -> ProxyRoute {
        ProxyRoute(
            pathPrefix: "/api/", upstream: URL(string: "http://127.0.0.1:8080")!,
            credential: credential,
            guard: ProxyGuardConfiguration(
                credential: "app", requireScopes: ["orders.read"],
                forwardClaims: [
                    .init(claim: .sub, header: "X-Auth-Subject"),
                    .init(claim: .scope, header: "X-Auth-Scope"),
                ],
                forwardToken: forwardToken))
    }

    func setup(credential: String? = nil, forwardToken: Bool = false) throws -> (
        ProxyRouter, FakeIntrospection, FakeTokenSource
    ) {
        let introspection = FakeIntrospection()
        introspection.state.withLock {
            $0.answers["good"] = FakeIntrospection.active(scope: "orders.read orders.write")
            $0.answers["narrow"] = FakeIntrospection.active(scope: "profile")
        }
        let tokens = FakeTokenSource()
        let router = try F.router(
            [Self.guardedRoute(credential: credential, forwardToken: forwardToken)],
            tokens: tokens, introspection: introspection)
        return (router, introspection, tokens)
    }

    @Test func validTokenForwardsIdentityAndRemovesClientCopies() async throws {
        let (router, introspection, tokens) = try setup()
        let head = F.head(
            "GET", "/api/x", [("Authorization", "Bearer good"), ("X-Auth-Subject", "admin")])
        let forward = try #require(await F.decide(router, head).forward)
        #expect(forward.addHeaders.map(\.name) == ["X-Auth-Subject", "X-Auth-Scope"])
        #expect(forward.addHeaders.map(\.value) == ["user-1", "orders.read orders.write"])
        #expect(forward.removeHeaders.contains("X-Auth-Subject"))
        #expect(forward.removeHeaders.contains("Authorization"))
        // The guard's removals are this request's own: the route's shared template keeps its.
        #expect(!forward.template.removeHeaders.contains("X-Auth-Subject"))
        #expect(forward.template === router.routes[0].forwardTemplate)
        #expect(forward.authorization == nil)
        #expect(tokens.fetches == 0)
        // The second request is answered from the cache: the fast path, no ask.
        _ = await F.decide(router, head)
        #expect(introspection.asks == 1)
    }

    @Test func missingMalformedInactiveAndNarrowTokens() async throws {
        let (router, _, _) = try setup()
        let missing = try #require(await F.decide(router, F.head("GET", "/api/x")).response)
        #expect(missing.status == 401)
        #expect(missing.headers["WWW-Authenticate"] == #"Bearer realm="tokenproxy""#)

        let twice = try #require(
            await F.decide(
                router,
                F.head(
                    "GET", "/api/x", [("Authorization", "Bearer a"), ("Authorization", "Bearer b")])
            ).response)
        #expect(twice.status == 400)

        let dead = try #require(
            await F.decide(router, F.head("GET", "/api/x", [("Authorization", "Bearer dead")]))
                .response)
        #expect(dead.status == 401)
        #expect(dead.headers["WWW-Authenticate"]?.contains(#"error="invalid_token""#) == true)

        let narrow = try #require(
            await F.decide(router, F.head("GET", "/api/x", [("Authorization", "Bearer narrow")]))
                .response)
        #expect(narrow.status == 403)
        let challenge = narrow.headers["WWW-Authenticate"] ?? ""
        #expect(challenge.contains(#"error="insufficient_scope""#))
        #expect(challenge.contains(#"scope="orders.read""#))
    }

    @Test func unavailableIdPIs503NeverForwarded() async throws {
        let (router, introspection, _) = try setup()
        introspection.state.withLock {
            $0.failure = .transport(credential: "app", endpoint: "http://idp/i", detail: "refused")
        }
        let response = try #require(
            await F.decide(router, F.head("GET", "/api/x", [("Authorization", "Bearer good")]))
                .response)
        #expect(response.status == 503)
        #expect(response.headers["Retry-After"] == "2")
        #expect(!String(decoding: response.body, as: UTF8.self).contains("good"))
    }

    @Test func guardAndInjectTogether() async throws {
        let (router, _, tokens) = try setup(credential: "a")
        let forward = try #require(
            await F.decide(router, F.head("GET", "/api/x", [("Authorization", "Bearer good")]))
                .forward)
        #expect(forward.authorization == "Bearer token-a-1")
        #expect(tokens.fetches == 1)
        #expect(!forward.removeHeaders.contains("Authorization"))  // replaced by the injection
    }

    @Test func forwardTokenKeepsTheCallersAuthorization() async throws {
        let (router, _, _) = try setup(forwardToken: true)
        let forward = try #require(
            await F.decide(router, F.head("GET", "/api/x", [("Authorization", "Bearer good")]))
                .forward)
        #expect(forward.authorization == nil)
        #expect(!forward.removeHeaders.contains("Authorization"))
    }
}
