import Foundation
import Testing

@testable import TokenProxyCore

/// `proxy.routes`: the checks of ConfigurationParser+ProxyRoute.swift.
@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserProxyRouteTests {
    typealias F = ConfigFixture
    typealias P = ConfigurationParserProxyTests

    @Test func refusesACatchAllRouteWithTheFix() {
        #expect(
            P.problems(route: #""upstream": "https://api.example.com", "credential": "a""#) == [
                #"proxy.routes[0]: needs "host" or "path_prefix" (or both); a route matching every request would make the proxy forward anything with a token: name the host, like "api.example.com""#
            ])
    }

    @Test func requiresUpstreamAndCredential() {
        #expect(
            P.problems(route: #""host": "x.example""#) == [
                "proxy.routes[0].upstream: required key is missing",
                "proxy.routes[0].credential: required key is missing",
            ])
    }

    @Test func suggestsCredentialsAndKeys() {
        #expect(
            P.problems(
                route:
                    #""host": "x.example", "upstream": "https://x.example", "credential": "zitadel-admn""#
            )
                == [
                    "proxy.routes[0].credential: no credential named 'zitadel-admn' is configured; did you mean 'zitadel-admin'?"
                ])
        #expect(
            P.problems(
                route:
                    #""host": "x.example", "upstream": "https://x.example", "credential": "other""#)
                == [
                    "proxy.routes[0].credential: no credential named 'other' is configured; configured: a, zitadel-admin"
                ])
        #expect(
            P.problems(
                route:
                    #""host": "x.example", "upstream": "https://x.example", "credential": "a", "strip_prefx": true"#
            )
                == ["proxy.routes[0].strip_prefx: unknown key; did you mean 'strip_prefix'?"])
        #expect(
            F.problems(
                P.withProxy(
                    #""listen": ["127.0.0.1:1"], "routes": [\#(P.route)], "tunels": []"#))
                == ["proxy.tunels: unknown key; did you mean 'tunnels'?"])
    }

    @Test func checksUpstreams() {
        func problems(_ upstream: String) -> [String] {
            P.problems(
                route: #""host": "x.example", "upstream": "\#(upstream)", "credential": "a""#)
        }
        #expect(problems("http://127.0.0.1:9000/base") == [])
        #expect(problems("http://[::1]:9000") == [])
        #expect(problems("http://localhost") == [])
        #expect(
            problems("http://api.example.com").first?.contains(
                #"use https: over plain http the injected token would cross the network in clear text (if this upstream speaks only http on a network you trust, set "allow_plain_http": true"#
            ) == true)
        #expect(
            P.problems(
                route:
                    #""host": "x.example", "upstream": "http://legacy.lan", "credential": "a", "allow_plain_http": true"#
            ) == [])
        #expect(
            problems("https://u:p@api.example.com").first?.contains(
                "must not contain a user name or password") == true)
        #expect(
            problems("https://api.example.com/?x=1").first?.contains(
                "must not have a query or fragment") == true)
        for bad in ["/api", "ftp://x.example", "api.example.com"] {
            #expect(
                problems(bad) == [
                    #"proxy.routes[0].upstream: must be an absolute http(s) URL like "https://api.example.com""#
                ])
        }
    }

    @Test func checksPathPrefixAndStrip() {
        #expect(
            P.problems(
                route:
                    #""host": "x.example", "strip_prefix": true, "upstream": "https://x.example", "credential": "a""#
            )
                == ["proxy.routes[0].strip_prefix: needs path_prefix: there is no prefix to strip"])
        #expect(
            P.problems(
                route:
                    #""path_prefix": "zitadel/", "upstream": "https://x.example", "credential": "a""#
            )
                == [#"proxy.routes[0].path_prefix: must start with "/", like "/zitadel/""#])
        #expect(
            P.problems(
                route: #""path_prefix": "/a?b", "upstream": "https://x.example", "credential": "a""#
            ).count == 1)
        #expect(
            P.problems(
                route:
                    #""path_prefix": "/a/../b/", "upstream": "https://x.example", "credential": "a""#
            ).count == 1)
    }

    @Test(arguments: [
        (
            "*.example.com",
            "proxy.routes[0].host: wildcards are not supported; add one route per host"
        ),
        ("::1", #"proxy.routes[0].host: an IPv6 address needs brackets, like "[::1]:8443""#),
        (
            "api.example.com:0",
            #"proxy.routes[0].host: port must be a number from 1 to 65535 (got "0")"#
        ),
        (
            "api.example.com/v1",
            #"proxy.routes[0].host: must be a host name or IP address with an optional port, like "api.example.com" or "[::1]:8443" (got "api.example.com/v1")"#
        ),
        (
            "-bad.example",
            #"proxy.routes[0].host: must be a host name or IP address with an optional port, like "api.example.com" or "[::1]:8443" (got "-bad.example")"#
        ),
    ])
    func refusesMalformedHosts(_ host: String, _ problem: String) {
        #expect(
            P.problems(
                route: #""host": "\#(host)", "upstream": "https://x.example", "credential": "a""#)
                == [problem])
    }

    @Test func normalizesHosts() throws {
        let proxy = try F.parse(
            P.withRoute(
                #""host": "API.Example.COM:8443", "upstream": "https://x.example", "credential": "a""#
            )
        ).proxy
        #expect(proxy?.routes.first?.host == "api.example.com:8443")
        let v6 = try F.parse(
            P.withRoute(
                #""host": "[::1]:9000", "upstream": "https://x.example", "credential": "a""#)
        ).proxy
        #expect(v6?.routes.first?.host == "[::1]:9000")
    }

    @Test func refusesDuplicateRoutes() {
        let json = P.withProxy(
            #""listen": ["127.0.0.1:1"], "routes": [\#(P.route), {"host": "API.example.com", "upstream": "https://b.example", "credential": "a"}]"#
        )
        #expect(
            F.problems(json) == [
                "proxy.routes[1]: has the same host and path_prefix as routes[0]; the first match wins, so this route would never be used: merge or remove one"
            ])
    }

    @Test func checksTLSFiles() {
        #expect(
            P.problems(
                route:
                    #""host": "x.example", "upstream": "https://x.example", "credential": "a", "client_certificate": "/c.pem""#
            )
                == [
                    "proxy.routes[0].client_key: required with client_certificate: mutual TLS needs the certificate and its key"
                ])
        #expect(
            P.problems(
                route:
                    #""host": "x.example", "upstream": "http://127.0.0.1:1", "credential": "a", "ca_file": "/ca.pem""#
            )
                == [
                    "proxy.routes[0].ca_file: applies only to an https upstream; remove it or use https"
                ])
        #expect(
            P.problems(
                route:
                    #""host": "x.example", "upstream": "https://x.example", "credential": "a", "ca_file": "ca.pem""#
            )
                == [#"proxy.routes[0].ca_file: must be an absolute path (got "ca.pem")"#])
    }
}

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserGuardTests {
    static func document(_ route: String) -> String {
        #"{"credentials": {"a": {\#(ConfigFixture.credential)}, "app": {\#(ConfigFixture.credential)}}, "proxy": {"listen": ["127.0.0.1:8787"], "routes": [\#(route)]}}"#
    }

    @Test func guardOnlyRouteNeedsNoCredential() throws {
        let json = Self.document(
            #"{"path_prefix": "/", "upstream": "http://127.0.0.1:8080", "guard": {"credential": "app", "require_scopes": ["orders.read"], "require_audience": "api", "forward_claims": {"sub": "X-Auth-Subject", "client_id": "X-Auth-Client"}, "forward_token": true}}"#
        )
        let route = try #require(try ConfigFixture.parse(json).proxy?.routes.first)
        #expect(route.credential == nil)
        #expect(
            route.guard
                == ProxyGuardConfiguration(
                    credential: "app", requireScopes: ["orders.read"], requireAudience: "api",
                    forwardClaims: [
                        .init(claim: .sub, header: "X-Auth-Subject"),
                        .init(claim: .clientID, header: "X-Auth-Client"),
                    ], forwardToken: true))
    }

    @Test func problemsNameTheirPaths() {
        let problems = ConfigFixture.problems(
            Self.document(
                #"{"path_prefix": "/", "upstream": "http://127.0.0.1:8080", "credential": "a", "keep_client_authorization": true, "guard": {"credential": "ap", "forward_claims": {"email": "X-Mail", "sub": "Authorization", "scope": "bad header"}, "forward_token": true}}"#
            ))
        let paths = problems.map { String($0.prefix(while: { $0 != ":" })) }
        #expect(paths.contains("proxy.routes[0].guard.credential"))
        #expect(paths.contains("proxy.routes[0].guard.forward_claims.email"))
        #expect(paths.contains("proxy.routes[0].guard.forward_claims.sub"))
        #expect(paths.contains("proxy.routes[0].guard.forward_claims.scope"))
        #expect(paths.contains("proxy.routes[0].guard.forward_token"))
        #expect(paths.contains("proxy.routes[0].keep_client_authorization"))
    }

    @Test func aRouteNeedsACredentialOrAGuard() {
        let problems = ConfigFixture.problems(
            Self.document(#"{"path_prefix": "/", "upstream": "http://127.0.0.1:8080"}"#))
        #expect(problems.contains { $0.hasPrefix("proxy.routes[0].credential:") })
    }

    @Test func anIntrospectionOnlyCredentialCanGuardButNotInject() throws {
        let json =
            #"{"credentials": {"a": {\#(ConfigFixture.credential)}, "app": {\#(ConfigFixture.credential), "fetch_tokens": false}}, "proxy": {"listen": ["127.0.0.1:8787"], "routes": [{"path_prefix": "/g/", "upstream": "http://127.0.0.1:8080", "guard": {"credential": "app"}}, {"path_prefix": "/i/", "upstream": "http://127.0.0.1:8080", "credential": "app"}]}}"#
        let problems = ConfigFixture.problems(json)
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("proxy.routes[1].credential:") == true)
        #expect(problems.first?.contains("fetch_tokens") == true)
    }
}
