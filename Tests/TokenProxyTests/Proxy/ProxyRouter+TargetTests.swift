import Testing

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct ProxyRequestTargetTests {
    typealias T = ProxyRequestTarget

    @Test func parsesAbsoluteFormAndIgnoresHost() throws {
        let target = try T.parse("http://[::1]:8080/a/b?x=1#frag", host: "other")
        #expect(target == T(host: "::1", port: 8080, defaultPort: 80, path: "/a/b", query: "?x=1"))
        #expect(
            try T.parse("https://API.example.com?q", host: nil)
                == T(host: "api.example.com", port: nil, defaultPort: 443, path: "/", query: "?q"))
    }

    @Test func parsesOriginFormWithHost() throws {
        #expect(
            try T.parse("/p?q=1", host: "Example.COM:81")
                == T(host: "example.com", port: 81, defaultPort: 80, path: "/p", query: "?q=1"))
        #expect(
            try T.parse("/", host: nil)
                == T(host: nil, port: nil, defaultPort: 80, path: "/", query: ""))
        #expect(
            try T.parse("/", host: "example.com:")
                == T(host: "example.com", port: nil, defaultPort: 80, path: "/", query: ""))
    }

    @Test(arguments: [
        "*", "example.com:443", "ftp://x/", "http://a@b/", "http://x:0/", "http://x:99999/",
        "http://[::1/", "/", "/a/./b", "/a/%2e%2E/b",
    ])
    func refusesWhatCannotBeRouted(_ target: String) {
        let host = target == "/" ? "a:b:c" : "example.com"
        #expect(throws: T.Problem.self) { try T.parse(target, host: host) }
    }

    @Test(arguments: [
        "/", "/.", "/..", "/a/./b", "/a/../b", "/%2e", "/%2E%2e", "/.%2e/x", "/%2e./", "/...",
        "/.a", "/a.", "/%2e%2e%2e", "/%2f", "/%2", "/%", "/x/%2ex", "//", "/a//b/", "/%2e%2",
        "/.%2E", "/x/..", "/x/...x", "/%252e",
    ])
    func findsDotSegmentsAsTheStringReferenceDoes(_ path: String) {
        // The rule in its plain form: lowercase, decode `%2e`, compare.
        let reference = path.split(separator: "/", omittingEmptySubsequences: false).contains {
            segment in
            var decoded = segment.lowercased()
            while let range = decoded.range(of: "%2e") { decoded.replaceSubrange(range, with: ".") }
            return decoded == "." || decoded == ".."
        }
        #expect(T.hasDotSegment(path) == reference, "\(path)")
    }

    /// `authority` decides from one byte scan: the case of the host only (not of what follows
    /// the colon), one colon at most outside brackets, no `@` anywhere.
    @Test func authorityLowercasesOnlyAMixedCaseHost() throws {
        #expect(try T.authority("example.com:8080") == ("example.com", 8080))
        #expect(try T.authority("EXAMPLE.com") == ("example.com", nil))
        #expect(try T.authority("example.COM:443") == ("example.com", 443))
        #expect(try T.authority("[::1]:81") == ("::1", 81))
        #expect(try T.authority("[FE80::1]") == ("fe80::1", nil))
        for bad in ["a:b:c", "user@host", "host:80@", ":80", "host:8o", "host:99999", ""] {
            #expect(throws: T.Problem.self, "\(bad)") { try T.authority(Substring(bad)) }
        }
    }

    @Test func aQuestionMarkAfterTheFragmentIsNoQuery() throws {
        #expect(
            try T.parse("/p#f?x", host: "h")
                == T(host: "h", port: nil, defaultPort: 80, path: "/p", query: ""))
        #expect(
            try T.parse("/p?a?b#f", host: "h")
                == T(host: "h", port: nil, defaultPort: 80, path: "/p", query: "?a?b"))
        #expect(T.queryAndFragment(in: "/x?q#f") == (2, 4))
        #expect(T.queryAndFragment(in: "/x") == (nil, nil))
    }

    @Test func findsTheSchemeSeparatorByBytes() {
        #expect(T.schemeSeparator(in: "http://x/").map { "http://x/"[$0] } == "://")
        #expect(T.schemeSeparator(in: "a:b://c").map { "a:b://c"[$0.lowerBound...] } == "://c")
        #expect(T.schemeSeparator(in: "host:443") == nil)
        #expect(T.schemeSeparator(in: "x:/") == nil)
    }

    @Test func matchesPrefixesBySegment() {
        #expect(T.path("/api/x", isUnder: "/api/"))
        #expect(!T.path("/api", isUnder: "/api/"))
        #expect(T.path("/api", isUnder: "/api"))
        #expect(T.path("/api/x", isUnder: "/api"))
        #expect(!T.path("/apix", isUnder: "/api"))
    }

    @Test func rewritesWithStripAndBasePath() {
        #expect(T.rewrite(path: "/z/a", query: "?q", stripping: "/z/", basePath: "") == "/a?q")
        #expect(T.rewrite(path: "/z", query: "", stripping: "/z", basePath: "/base") == "/base/")
        #expect(
            T.rewrite(path: "/z/a", query: "", stripping: nil, basePath: "/base") == "/base/z/a")
    }
}
