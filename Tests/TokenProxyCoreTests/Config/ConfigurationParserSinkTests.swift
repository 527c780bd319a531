import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserSinkTests {
    typealias F = ConfigFixture

    @Test func parsesEverySinkOption() throws {
        let json = F.withCredential(
            #"""
            "sinks": [
              {"path": "/run/t/a.token"},
              {"path": "/run/t/a.env", "format": "env", "mode": "0640", "owner": "1000",
               "group": "tokenproxy", "variable": "MY_TOKEN", "command": ["/bin/true", "x"],
               "command_timeout": 2.5, "remove_on_exit": true}
            ]
            """#)
        let sinks = try #require(try F.parse(json).credential(named: "a")).sinks
        #expect(sinks.count == 2)
        #expect(sinks[0] == SinkConfiguration(path: "/run/t/a.token"))
        #expect(sinks[0].mode == 0o600 && sinks[0].format == .raw)
        #expect(sinks[0].variable == "ACCESS_TOKEN")
        #expect(
            sinks[1]
                == SinkConfiguration(
                    path: "/run/t/a.env", format: .env, mode: 0o640, owner: "1000",
                    group: "tokenproxy", variable: "MY_TOKEN", command: ["/bin/true", "x"],
                    commandTimeout: .milliseconds(2500), removeOnExit: true))
    }

    @Test func namesEachMistakeWithItsPath() {
        let json = F.withCredential(
            #"""
            "sinks": [
              {"path": "a.token", "format": "yaml", "mode": 600},
              {"path": "/ok", "variable": "1X", "command": ["true"], "owner": "bad name"},
              {"path": "/ok"},
              {"mod": "0600"}
            ]
            """#)
        let problems = F.problems(json)
        let expected = [
            "credentials.a.sinks[0].path", "credentials.a.sinks[0].format",
            "credentials.a.sinks[0].mode", "credentials.a.sinks[1].variable",
            "credentials.a.sinks[1].command", "credentials.a.sinks[1].owner",
            "credentials.a.sinks[3].mod", "credentials.a.sinks[3].path",
        ]
        for path in expected {
            #expect(problems.contains { $0.contains(path) }, "\(path) in \(problems)")
        }
        // The second "/ok" is not reported as a duplicate: the first one had mistakes.
        #expect(!problems.contains { $0.contains("sinks[2]") }, "\(problems)")
        #expect(F.problems(F.withCredential(#""sinks": {"path": "/a"}"#)).count == 1)
    }

    @Test func refusesTheSameFileTwice() {
        let problems = F.problems(
            F.withCredential(#""sinks": [{"path": "/run/t/a"}, {"path": "/run/t/a"}]"#))
        #expect(problems.count == 1)
        #expect(problems.first?.contains("credentials.a.sinks[1].path") == true)
    }
}
