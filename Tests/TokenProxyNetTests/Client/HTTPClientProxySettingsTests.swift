import Foundation
import Testing

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct ProxySettingsTests {
    @Test func readsProxiesFromEnvironment() {
        let settings = ProxySettings.fromEnvironment([
            "HTTPS_PROXY": "http://secure-proxy:3128", "http_proxy": "plain-proxy:8080",
            "NO_PROXY": "localhost, .internal.example,10.0.0.0/8",
        ])
        #expect(settings.httpsProxy == URL(string: "http://secure-proxy:3128"))
        #expect(settings.httpProxy == URL(string: "http://plain-proxy:8080"))
        #expect(settings.noProxy == ["localhost", "internal.example", "10.0.0.0/8"])
    }

    @Test func lowercaseVariableWinsLikeCurl() {
        let settings = ProxySettings.fromEnvironment([
            "https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2",
            "no_proxy": "lower.example", "NO_PROXY": "upper.example",
        ])
        #expect(settings.httpsProxy == URL(string: "http://lower:1"))
        #expect(settings.noProxy == ["lower.example"])
    }

    @Test func emptyVariablesCountAsUnset() {
        let settings = ProxySettings.fromEnvironment([
            "https_proxy": "", "HTTPS_PROXY": "http://upper:2", "http_proxy": " ",
        ])
        #expect(settings.httpsProxy == URL(string: "http://upper:2"))
        #expect(settings.httpProxy == nil)
        #expect(ProxySettings.fromEnvironment([:]) == .none)
    }

    @Test func allProxyIsTheFallback() {
        let settings = ProxySettings.fromEnvironment([
            "ALL_PROXY": "http://all:1", "https_proxy": "http://s:2",
        ])
        #expect(settings.httpProxy == URL(string: "http://all:1"))
        #expect(settings.httpsProxy == URL(string: "http://s:2"))
    }

    @Test func choosesProxyByScheme() {
        let settings = ProxySettings(
            httpProxy: URL(string: "http://p1:1"), httpsProxy: URL(string: "http://p2:2"))
        #expect(
            settings.proxy(for: URL(string: "http://idp.example/t")!) == URL(string: "http://p1:1"))
        #expect(
            settings.proxy(for: URL(string: "https://idp.example/t")!) == URL(string: "http://p2:2")
        )
        #expect(settings.proxy(for: URL(string: "ftp://idp.example/t")!) == nil)
    }

    @Test(arguments: [
        ("example.org", "example.org", true),
        ("example.org", "a.b.example.org", true),
        ("example.org", "EXAMPLE.ORG.", true),
        (".example.org", "example.org", true),
        (".example.org", "a.example.org", true),
        ("example.org", "badexample.org", false),
        ("example.org", "example.org.evil", false),
        ("*", "anything.at.all", true),
        ("*.example.org", "a.example.org", false),
        ("localhost", "localhost", true),
        ("127.0.0.1", "127.0.0.1", true),
        ("127.0.0.1", "127.0.0.10", false),
        ("0.0.1", "127.0.0.1", false),
        ("10.0.0.0/8", "10.20.30.40", true),
        ("10.0.0.0/8", "11.0.0.1", false),
        ("192.168.1.0/24", "192.168.1.77", true),
        ("::1", "::1", true),
        ("[::1]", "::1", true),
        ("fe80::1", "::1", false),
    ])
    func matchesNoProxyLikeCurl(entry: String, host: String, bypass: Bool) {
        let settings = ProxySettings(
            httpsProxy: URL(string: "http://proxy:3128"), noProxy: ProxySettings.parseNoProxy(entry)
        )
        #expect(settings.bypasses(host: host) == bypass)
    }

    @Test func bypassesProxyForNoProxyHosts() {
        let settings = ProxySettings.fromEnvironment([
            "https_proxy": "http://proxy:3128", "no_proxy": "localhost,::1",
        ])
        #expect(settings.proxy(for: URL(string: "https://localhost:8443/")!) == nil)
        #expect(settings.proxy(for: URL(string: "https://[::1]:8443/")!) == nil)
        #expect(settings.proxy(for: URL(string: "https://idp.example/")!) != nil)
    }

    @Test func splitsNoProxyOnCommasAndWhitespace() {
        #expect(
            ProxySettings.parseNoProxy(" a.example , b.example\tc.example,,") == [
                "a.example", "b.example", "c.example",
            ])
    }
}
