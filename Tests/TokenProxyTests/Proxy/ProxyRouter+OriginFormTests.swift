import Foundation
import Testing
import TokenProxyCore
import TokenProxyNet

@testable import TokenProxy

/// The byte-level fast path (`routeOriginForm`) against the general one
/// (`ProxyRequestTarget.parse`, `ProxyRouterRoute.matches`, `rewrite`): whenever the fast path
/// answers, the general path answers the same; and it answers the common requests.
@Suite(.timeLimit(.minutes(1)))
struct ProxyRouterOriginFormTests {
    typealias F = ProxyRouterFixture
    typealias T = ProxyRequestTarget

    static let routes: [ProxyRoute] = [
        F.route(host: "API.example.com", prefix: "/v1/", upstream: "https://api.example.com/b/"),
        F.route(host: "api.example.com:8443", upstream: "https://other.example.com"),
        F.route(host: "[::1]:81", prefix: "/six", upstream: "http://127.0.0.1:9001"),
        F.route(prefix: "/zitadel/", strip: true, upstream: "https://z.example.com/base"),
        F.route(prefix: "/strip", strip: true, upstream: "http://127.0.0.1:9002"),
        F.route(prefix: "/api", upstream: "http://127.0.0.1:9000"),
        F.route(host: "bücher.example", upstream: "http://127.0.0.1:9003"),
    ]

    static let targets = [
        "/", "/v1/", "/v1/users?page=2#frag", "/v1", "/api", "/api/", "/apix", "/api/x?q=%2F",
        "/api/x#f?no", "/api/x?a?b#f", "/zitadel/", "/zitadel/oauth/v2/keys?a=1", "/zitadel",
        "/strip", "/strip/x", "/stripx", "/six", "/six/x", "/api/./x", "/api/%2e%2E/x",
        "/api/a.b/c%20d", "/api/...", "//api", "/api/ü?x=ä", "http://api.example.com/v1/x",
        "*", "/api?", "/api#",
    ]

    static let hosts: [String?] = [
        nil, "", "api.example.com", "API.Example.COM", "api.example.com:80",
        "api.example.com:8443", "api.example.com:", "[::1]:81", "[::1]", "[::1]:81x", "::1",
        "a:b:c", "user@api.example.com", "api.example.com:99999", "api.example.com:0",
        "api.example.com:8o", "[::1", ":80", "bücher.example", "BÜCHER.example", "127.0.0.1:9",
        "[FE80::1]:81", "host:080",
    ]

    /// What the general path decides: the route's name and the upstream target, or nil (an
    /// error or no route).
    static func general(_ router: ProxyRouter, _ target: String, _ host: String?) -> (
        String, String
    )? {
        guard let parsed = try? T.parse(target, host: host),
            let route = router.routes.first(where: { $0.matches(parsed) })
        else { return nil }
        return (
            route.name,
            T.rewrite(
                path: parsed.path, query: parsed.query, stripping: route.strippedPrefix,
                basePath: route.basePath)
        )
    }

    @Test func decidesAsTheGeneralPathWheneverItDecides() throws {
        let router = try F.router(Self.routes)
        var decided = 0
        for target in Self.targets {
            for host in Self.hosts {
                let fields = host.map { [("Host", $0)] } ?? []
                guard
                    let (route, upstreamTarget) = router.routeOriginForm(
                        F.head("GET", target, fields))
                else { continue }
                decided += 1
                let expected = try #require(
                    Self.general(router, target, host), "\(target) Host: \(host ?? "-")")
                #expect(route.name == expected.0, "\(target) Host: \(host ?? "-")")
                #expect(upstreamTarget == expected.1, "\(target) Host: \(host ?? "-")")
            }
        }
        #expect(decided > 100)
    }

    @Test func decidesTheCommonRequests() throws {
        let router = try F.router(Self.routes)
        let cases: [(String, String?, String, String)] = [
            ("/api/small", "127.0.0.1:8080", "/api", "/api/small"),
            ("/api/x?q=1", nil, "/api", "/api/x?q=1"),
            (
                "/v1/users?page=2#frag", "API.example.com", "API.example.com/v1/",
                "/b/v1/users?page=2"
            ),
            ("/zitadel/oauth?a", "x", "/zitadel/", "/base/oauth?a"),
            ("/strip", "x", "/strip", "/"),
            ("/six/a", "[::1]:81", "[::1]:81/six", "/six/a"),
            ("/", "api.example.com:8443", "api.example.com:8443", "/"),
        ]
        for (target, host, name, upstream) in cases {
            let fields = host.map { [("Host", $0)] } ?? []
            let decided = router.routeOriginForm(F.head("GET", target, fields))
            #expect(decided?.0.name == name, "\(target)")
            #expect(decided?.1 == upstream, "\(target)")
        }
    }

    @Test func leavesErrorsAndUnusualHostsToTheGeneralPath() throws {
        let router = try F.router(Self.routes)
        for (target, host) in [
            ("/api/./x", "h"), ("/api", "a:b:c"), ("/api", "u@h"), ("/nothing", "h"),
            ("/api", "bücher.example"), ("http://h/api", "h"), ("*", "h"),
        ] {
            #expect(
                router.routeOriginForm(F.head("GET", target, [("Host", host)])) == nil, "\(target)")
        }
    }

    @Test func scansAuthoritiesAsTheGeneralPathDoes() {
        for host in Self.hosts.compactMap({ $0 }) + ["x:1", "[a]:", "[a]b", "a]b:2", "[]"] {
            let fast = Array(host.utf8).withUnsafeBufferPointer { buffer in
                ASCIIAuthority(buffer).map {
                    (String(decoding: buffer[$0.host], as: UTF8.self).lowercased(), $0.port)
                }
            }
            let general = try? T.authority(Substring(host))
            if let fast {
                #expect(general?.0 == fast.0 && general?.1 == fast.1, "\(host)")
            } else {
                // Only what the general path refuses, or must lowercase as Unicode.
                #expect(general == nil || host.utf8.contains { $0 >= 0x80 }, "\(host)")
            }
        }
    }

    /// The word-at-a-time path (`plainColon`) reads every authority as the byte loop does.
    @Test func readsAuthoritiesWordByWordAsTheByteLoopDoes() {
        var hosts =
            Self.hosts.compactMap { $0 } + [
                "127.0.0.1:8080", "api.example.com", "api.example.com:443", "localhost",
                "localhost:",
                "abcdefgh", "abcdefgh:1", "abcdefg:1", "abcdefgh:65536", "abcdefgh:0", ":8080abcd",
                "a:b:cdefghij", "abcdefg::1", "abcdefgh:12:3", "ABCDEFGH:1", "abc@defgh",
                "abcdefgh\u{7F}",
                "xn--bcher-kva.example:443", "a.b.c.d.e.f.g.h.i", "[::1]:8443", "[fe80::1]",
                "a/b-c.d_e:9",
                "abcdefgh:123456", "abcdefghijklmnop:", "abcdefgh`{|}~", "bücher.example:80",
            ]
        // Deterministic mixtures of the bytes either path treats specially.
        let alphabet = Array("az09-./:@[]A_`{\u{7F}".utf8) + [0xC3, 0x80]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for length in 1...24 {
            for _ in 0..<40 {
                var bytes: [UInt8] = []
                for _ in 0..<length {
                    seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    bytes.append(alphabet[Int(seed >> 33) % alphabet.count])
                }
                hosts.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        for host in hosts {
            Array(host.utf8).withUnsafeBufferPointer { buffer in
                let fast = ASCIIAuthority(buffer)
                let careful = ASCIIAuthority(scanning: buffer)
                #expect(fast?.host == careful?.host && fast?.port == careful?.port, "\(host)")
                #expect((fast == nil) == (careful == nil), "\(host)")
            }
        }
    }

    @Test func marksPathAndQueryAsTheGeneralPathDoes() {
        for target in Self.targets where target.hasPrefix("/") {
            var text = target
            let (pathEnd, queryEnd, flagged) = text.withUTF8 { bytes in
                let marks = OriginFormMarks(bytes)
                return (marks.pathEnd, marks.queryEnd, marks.mayHaveDotSegment)
            }
            let parsed = T.queryAndFragment(in: Substring(target))
            #expect(pathEnd == parsed.query ?? parsed.fragment ?? target.utf8.count, "\(target)")
            #expect(queryEnd == parsed.fragment ?? target.utf8.count, "\(target)")
            let path = String(decoding: Array(target.utf8)[..<pathEnd], as: UTF8.self)
            if T.hasDotSegment(path) { #expect(flagged, "\(target)") }
        }
    }

    @Test func rewritesBytesAsStrings() {
        let cases: [(String, String, String?, String)] = [
            ("/z/a", "?q", "/z/", ""), ("/z", "", "/z", "/base"), ("/z/a", "", nil, "/base"),
            ("/zä/ö", "?ü", "/zä", "/bäse"), ("/a", "", nil, ""),
        ]
        for (path, query, prefix, base) in cases {
            let expected = T.rewrite(path: path, query: query, stripping: prefix, basePath: base)
            let path = Array(path.utf8)
            let query = Array(query.utf8)
            let built = path.withUnsafeBufferPointer { path in
                query.withUnsafeBufferPointer { query in
                    ProxyRouter.rewrite(
                        path: path, query: query, stripping: prefix?.utf8.count, basePath: base)
                }
            }
            #expect(built == expected)
        }
    }
}
