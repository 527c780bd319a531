import Foundation
import Testing
import TokenProxyCore
import TokenProxyNet
import TokenProxyTestSupport

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct ProxyRouterTests {
    typealias F = ProxyRouterFixture

    @Test func routesAbsoluteFormByTheTargetsHostIgnoringHost() async throws {
        let tokens = FakeTokenSource()
        let router = try F.router(
            [F.route(host: "api.example.com", upstream: "https://api.example.com/base/")],
            tokens: tokens)
        let decision = await F.decide(
            router,
            F.head(
                "GET", "http://API.example.com/v1/users?page=2&x=%2F", [("Host", "other.example")]))
        let forward = try #require(decision.forward)
        #expect(
            forward.upstream == ProxyUpstream(scheme: "https", host: "api.example.com", port: 443))
        #expect(forward.target == "/base/v1/users?page=2&x=%2F")
        #expect(forward.hostHeader == "api.example.com")
        #expect(forward.authorization == "Bearer token-a-1")
        #expect(forward.tls != nil)
        #expect(forward.removeHeaders.contains("X-Tokenproxy-Refresh"))
        #expect(forward.routeName == "api.example.com")
        #expect(!forward.tokenGeneration.isEmpty && !forward.tokenGeneration.contains("token"))
        #expect(tokens.fetches == 1)
    }

    @Test func forwardsOfARouteShareItsTemplate() async throws {
        let router = try F.router([
            F.route(prefix: "/a/", upstream: "http://127.0.0.1:9000"),
            F.route(prefix: "/b/", upstream: "http://127.0.0.1:9001"),
        ])
        let first = try #require(await F.decide(router, F.head("GET", "/a/1")).forward)
        let second = try #require(await F.decide(router, F.head("GET", "/a/2")).forward)
        let other = try #require(await F.decide(router, F.head("GET", "/b/1")).forward)
        #expect(first.template === router.routes[0].forwardTemplate)
        #expect(second.template === first.template)
        #expect(other.template === router.routes[1].forwardTemplate)
        #expect(first.target == "/a/1" && second.target == "/a/2")
        #expect(first.upstream === router.routes[0].upstream)
        #expect(first.removeHeaders == router.removedHeaders)
        // A request's own change does not reach the route's other requests.
        first.removeHeaders.append("X-Extra")
        #expect(first.removeHeaders.last == "X-Extra")
        #expect(second.removeHeaders == router.removedHeaders)
    }

    @Test func routesOriginFormByPathPrefixAndStripsIt() async throws {
        let router = try F.router([
            F.route(prefix: "/zitadel/", strip: true, upstream: "https://my-instance.zitadel.cloud")
        ])
        let forward = try #require(
            await F.decide(router, F.head("GET", "/zitadel/oauth/v2/keys?a=1")).forward)
        #expect(forward.target == "/oauth/v2/keys?a=1")
        #expect(forward.hostHeader == "my-instance.zitadel.cloud")
        #expect(forward.routeName == "/zitadel/")
        let root = try #require(await F.decide(router, F.head("GET", "/zitadel/")).forward)
        #expect(root.target == "/")
        #expect(await F.decide(router, F.head("GET", "/zitadel")).response?.status == 403)
    }

    @Test func keepsThePrefixUnlessAskedToStripIt() async throws {
        let router = try F.router([F.route(prefix: "/api", upstream: "http://127.0.0.1:9000/v2")])
        let forward = try #require(await F.decide(router, F.head("POST", "/api/items?q")).forward)
        #expect(forward.target == "/v2/api/items?q")
        #expect(forward.upstream == ProxyUpstream(scheme: "http", host: "127.0.0.1", port: 9000))
        #expect(forward.hostHeader == "127.0.0.1:9000")
        #expect(forward.tls == nil)
        #expect(await F.decide(router, F.head("GET", "/apix")).response?.status == 403)
        #expect(await F.decide(router, F.head("GET", "/api")).forward?.target == "/v2/api")
    }

    @Test func matchesHostHeaderAndPrefixInConfigOrder() async throws {
        let router = try F.router([
            F.route(
                host: "api.example.com", prefix: "/admin/", upstream: "https://admin.example.com",
                credential: "admin"),
            F.route(host: "api.example.com", upstream: "https://api.example.com"),
            F.route(prefix: "/", upstream: "https://fallback.example.com"),
        ])
        let admin = await F.decide(
            router, F.head("GET", "/admin/users", [("Host", "api.example.com")]))
        #expect(admin.forward?.routeName == "api.example.com/admin/")
        #expect(admin.forward?.authorization == "Bearer token-admin-1")
        let api = await F.decide(router, F.head("GET", "/other", [("Host", "API.EXAMPLE.COM:80")]))
        #expect(api.forward?.routeName == "api.example.com")
        let fallback = await F.decide(router, F.head("GET", "/other", [("Host", "127.0.0.1:8787")]))
        #expect(fallback.forward?.routeName == "/")
    }

    @Test func matchesARoutesPortAgainstTheEffectivePort() async throws {
        let router = try F.router([
            F.route(host: "api.example.com:8080", upstream: "https://[::1]:8443")
        ])
        #expect(
            await F.decide(router, F.head("GET", "http://api.example.com/")).response?.status == 403
        )
        let forward = try #require(
            await F.decide(router, F.head("GET", "http://api.example.com:8080")).forward)
        #expect(forward.target == "/")
        #expect(forward.upstream == ProxyUpstream(scheme: "https", host: "::1", port: 8443))
        #expect(forward.hostHeader == "[::1]:8443")
    }

    @Test func refusesRequestsWithoutARouteNamingTheHost() async throws {
        let router = try F.router([
            F.route(host: "api.example.com", upstream: "https://api.example.com")
        ])
        let response = try #require(
            await F.decide(router, F.head("GET", "http://evil.example/steal")).response)
        #expect(response.status == 403)
        #expect(response.text.contains("no route for host 'evil.example' and path '/steal'"))
        #expect(response.text.contains("not an open proxy"))
        #expect(response.text.filter { $0 == "\n" }.count == 1)
        let noHost = try #require(await F.decide(router, F.head("GET", "/x")).response)
        #expect(noHost.text.contains("a request without Host"))
    }

    @Test func tunnelsOnlyAllowListedConnectTargets() async throws {
        let router = try F.router(
            [F.route(host: "api.example.com", upstream: "https://api.example.com")],
            tunnels: [ProxyTunnel(host: "github.com", port: 443)])
        let tunnel = await F.decide(router, F.head("CONNECT", "GitHub.com:443"))
        guard case .tunnel(let host, let port) = tunnel else {
            Issue.record("expected a tunnel, got \(tunnel)")
            return
        }
        #expect(host == "github.com" && port == 443)
        let refused = try #require(
            await F.decide(router, F.head("CONNECT", "api.example.com:443")).response)
        #expect(refused.status == 405)
        #expect(refused.headers["Allow"]?.contains("GET") == true)
        #expect(refused.headers["Allow"]?.contains("CONNECT") == false)
        #expect(refused.text.contains("a token cannot be injected into a TLS tunnel"))
        #expect(
            refused.text.contains(
                #"{"host": "api.example.com", "upstream": "https://api.example.com""#))
        #expect(refused.text.contains(#"add "api.example.com:443" to proxy.tunnels"#))
    }

    @Test func answers503WithRetryAfterWhenNoTokenCanBeHad() async throws {
        let tokens = FakeTokenSource()
        tokens.fail(
            with: .unavailable(
                name: "a", category: .unavailable, message: "connection refused",
                retryAfter: .seconds(30)))
        let router = try F.router(
            [F.route(host: "api.example.com", upstream: "https://api.example.com")], tokens: tokens)
        let response = try #require(
            await F.decide(router, F.head("GET", "http://api.example.com/")).response)
        #expect(response.status == 503)
        #expect(response.headers["Retry-After"] == "30")
        #expect(
            response.text.hasPrefix(
                "tokenproxy: no token for route 'api.example.com' (credential 'a'): "))
    }

    @Test func refreshHeaderForcesAFetchUnlessTheTokenIsBrandNew() async throws {
        let tokens = FakeTokenSource()
        tokens.preload("a", age: .seconds(60))
        let router = try F.router(
            [F.route(host: "api.example.com", upstream: "https://api.example.com")], tokens: tokens)
        let refreshed = await F.decide(
            router, F.head("GET", "http://api.example.com/", [("X-Tokenproxy-Refresh", "1")]))
        #expect(refreshed.forward?.authorization == "Bearer token-a-2")
        #expect(tokens.refreshes == 1)
        let again = await F.decide(
            router, F.head("GET", "http://api.example.com/", [("x-tokenproxy-refresh", "1")]))
        #expect(again.forward?.authorization == "Bearer token-a-2")
        #expect(tokens.refreshes == 1)
    }

    @Test func keepsTheClientsAuthorizationWhenTheRouteSaysSo() async throws {
        let tokens = FakeTokenSource()
        let router = try F.router(
            [
                F.route(
                    host: "api.example.com", upstream: "https://api.example.com",
                    keepAuthorization: true)
            ], tokens: tokens)
        let own = try #require(
            await F.decide(
                router, F.head("GET", "http://api.example.com/", [("Authorization", "Basic eDp5")])
            ).forward)
        #expect(own.authorization == nil)
        #expect(tokens.fetches == 0)
        #expect(await router.authorizationAfterUnauthorized(own) == nil)
        let injected = await F.decide(router, F.head("GET", "http://api.example.com/"))
        #expect(injected.forward?.authorization == "Bearer token-a-1")
    }

    @Test func refusesUnroutableTargets() async throws {
        let router = try F.router([F.route(prefix: "/api/", upstream: "https://api.example.com")])
        for target in [
            "/api/../admin", "/api/%2E%2e/admin", "*", "ftp://x/api/", "http://u@x/api/",
        ] {
            #expect(
                await F.decide(router, F.head("GET", target)).response?.status == 400, "\(target)")
        }
    }

    @Test func appliesTheTokenAPIsPeerRulesToUnixCallers() async throws {
        let access = TokenAPI.AccessPolicy(
            allowsAnyPeer: false, allowedUIDs: [1001], allowedGIDs: [], ownUID: 999)
        let router = try F.router(
            [F.route(prefix: "/", upstream: "https://api.example.com")], access: access)
        let refused = await F.decide(
            router, F.head("GET", "/"), peer: .unix(pid: 1, uid: 1002, gid: 1002))
        #expect(refused.response?.status == 403)
        #expect(
            refused.response?.text.contains("uid 1002 (gid 1002) may not use the proxy") == true)
        #expect(
            await F.decide(router, F.head("GET", "/"), peer: .unix(pid: 1, uid: 1001, gid: 5))
                .forward != nil)
        #expect(await F.decide(router, F.head("GET", "/")).forward != nil)
    }

    @Test func appliesTheRoutesCredentialAllowRule() async throws {
        let access = TokenAPI.AccessPolicy(
            allowsAnyPeer: true, allowedUIDs: [], allowedGIDs: [], ownUID: 999)
        let router = try F.router(
            [
                F.route(prefix: "/a/", upstream: "https://a.example.com", credential: "a"),
                F.route(prefix: "/b/", upstream: "https://b.example.com", credential: "b"),
            ],
            access: access, rules: ["a": AccessRule(uids: [1001])])
        let refused = await F.decide(
            router, F.head("GET", "/a/x"), peer: .unix(pid: 1, uid: 1002, gid: 1002))
        #expect(refused.response?.status == 403)
        #expect(refused.response?.text.contains("may not use credential 'a'") == true)
        #expect(
            await F.decide(router, F.head("GET", "/a/x"), peer: .unix(pid: 1, uid: 1001, gid: 5))
                .forward != nil)
        #expect(
            await F.decide(router, F.head("GET", "/a/x"), peer: .unix(pid: 1, uid: 999, gid: 5))
                .forward != nil)
        // A route whose credential has no rule is open; a TCP caller never matches a rule.
        #expect(
            await F.decide(router, F.head("GET", "/b/x"), peer: .unix(pid: 1, uid: 1002, gid: 1))
                .forward != nil)
        #expect(await F.decide(router, F.head("GET", "/a/x")).response?.status == 403)
    }

    @Test func reportsUnusableTLSFilesAtTheRouteKey() throws {
        #expect {
            try F.router([
                F.route(host: "a.example", upstream: "https://a.example"),
                F.route(
                    host: "b.example", upstream: "https://b.example", caFile: "/nonexistent/ca.pem"),
            ])
        } throws: { error in
            let problems = (error as? ConfigurationError)?.problems ?? []
            return problems.count == 1 && problems[0].path == "proxy.routes[1].ca_file"
                && problems[0].message.contains("/nonexistent/ca.pem")
        }
    }

    /// The mTLS client key is checked like a credential key: group-readable is refused, with
    /// the same `chmod 600` advice, at the route's `client_key`, unless the route allows it.
    @Test func refusesAGroupReadableClientKeyAtTheRouteKey() throws {
        let certificates = try TestCertificates.generate()
        chmod(certificates.clientKey, 0o640)
        var route = F.route(host: "a.example", upstream: "https://a.example")
        route.clientCertificateFile = certificates.clientCertificate
        route.clientKeyFile = certificates.clientKey
        #expect {
            try F.router([route])
        } throws: { error in
            let problems = (error as? ConfigurationError)?.problems ?? []
            return problems.count == 1 && problems[0].path == "proxy.routes[0].client_key"
                && problems[0].message.contains("group or others")
                && problems[0].message.contains("chmod 600 \(certificates.clientKey)")
        }
        route.allowInsecureKeyPermissions = true
        let router = try F.router([route])
        #expect(router.routes[0].upstream.tlsProfile.hasSuffix("allow-insecure-key"))
    }

    @Test func sharesOneTLSContextPerSettings() throws {
        let router = try F.router([
            F.route(host: "a.example", upstream: "https://a.example"),
            F.route(host: "b.example", upstream: "https://b.example:8443"),
        ])
        #expect(router.routes[0].tls === router.routes[1].tls)
        #expect(router.routes[0].upstream.tlsProfile == "")
        #expect(router.routes[1].hostHeader == "b.example:8443")
    }

    @Test func countsCompletedExchangesInMetrics() throws {
        let metrics = Metrics()
        let router = try F.router(
            [F.route(host: "a.example", upstream: "https://a.example")], metrics: metrics)
        router.completed(
            ProxyEvent(
                routeName: "a.example", method: "GET", status: 200, failure: nil,
                retriedAfterUnauthorized: true,
                duration: .milliseconds(20)))
        router.completed(
            ProxyEvent(
                routeName: "a.example", method: "BREW", status: 502,
                failure: "upstream unreachable",
                retriedAfterUnauthorized: false, duration: .seconds(1)))
        let text = metrics.render(statuses: [])
        #expect(
            text.contains(
                #"tokenproxy_proxy_requests_total{route="a.example",method="GET",code="200"} 1"#))
        #expect(
            text.contains(
                #"tokenproxy_proxy_requests_total{route="a.example",method="other",code="502"} 1"#))
        #expect(text.contains(#"tokenproxy_proxy_failures_total{route="a.example"} 1"#))
        #expect(text.contains(#"tokenproxy_proxy_unauthorized_retries_total{route="a.example"} 1"#))
        #expect(
            text.contains(#"tokenproxy_proxy_request_duration_seconds_count{route="a.example"} 2"#))
    }
}
