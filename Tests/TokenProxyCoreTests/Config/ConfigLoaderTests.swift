import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigLoaderTests {
    @Test func prefersExplicitThenEnvironmentThenDefault() {
        #expect(
            ConfigLoader.path(explicit: "/a.json", environment: ["TOKENPROXY_CONFIG": "/b.json"])
                == "/a.json")
        #expect(
            ConfigLoader.path(explicit: nil, environment: ["TOKENPROXY_CONFIG": "/b.json"])
                == "/b.json")
        #expect(
            ConfigLoader.path(explicit: nil, environment: ["TOKENPROXY_CONFIG": ""])
                == "/etc/tokenproxy/config.json")
        #expect(ConfigLoader.path(explicit: nil, environment: [:]) == ConfigLoader.defaultPath)
    }
}
