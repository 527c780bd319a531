import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserAccessTests {
    typealias F = ConfigFixture

    @Test func parsesEveryAllowEntry() throws {
        let credential = try F.parse(
            F.withCredential(
                #""allow": {"users": ["billing"], "groups": ["readers"], "uids": [1001], "gids": [994], "units": ["billing.service", "worker@3.service"]}"#
            )
        ).credentials[0]
        #expect(
            credential.allow
                == AllowConfiguration(
                    users: ["billing"], groups: ["readers"], uids: [1001], gids: [994],
                    units: ["billing.service", "worker@3.service"]))
    }

    @Test func noAllowMeansTheSocketDecides() throws {
        #expect(try F.parse(F.withCredential(#""scopes": []"#)).credentials[0].allow == nil)
    }

    @Test func refusesAnEmptyAllowAndBadNames() {
        #expect(
            F.problems(F.withCredential(#""allow": {}"#)).first?.hasPrefix(
                "credentials.a.allow: lists nobody") == true)
        let problems = F.problems(
            F.withCredential(
                #""allow": {"users": ["bad name"], "units": ["billing"], "uids": [-1], "colour": 1}"#
            ))
        #expect(problems.contains { $0.hasPrefix("credentials.a.allow.users[0]:") })
        #expect(problems.contains { $0.hasPrefix("credentials.a.allow.units[0]:") })
        #expect(problems.contains { $0.hasPrefix("credentials.a.allow.uids[0]:") })
        #expect(problems.contains { $0.hasPrefix("credentials.a.allow.colour:") })
    }

    @Test func parsesTheOperationsListener() throws {
        func operations(_ listen: String) throws -> OperationsConfiguration? {
            try F.parse(
                #"{"operations": {"listen": "\#(listen)"}, "credentials": {"a": {\#(F.credential)}}}"#
            ).operations
        }
        #expect(
            try operations("127.0.0.1:9464")
                == OperationsConfiguration(host: "127.0.0.1", port: 9464))
        #expect(
            try operations("0.0.0.0:9464") == OperationsConfiguration(host: "0.0.0.0", port: 9464))
        #expect(try operations("[::1]:0") == OperationsConfiguration(host: "::1", port: 0))
        #expect(try F.parse(F.withCredential(#""scopes": []"#)).operations == nil)
    }

    @Test func refusesNamesAndMalformedOperationsAddresses() {
        for listen in ["localhost:9464", "127.0.0.1", "127.0.0.1:99999", "010.0.0.1:1", "[::1]"] {
            let problems = F.problems(
                #"{"operations": {"listen": "\#(listen)"}, "credentials": {"a": {\#(F.credential)}}}"#
            )
            #expect(problems.count == 1, "\(listen)")
            #expect(problems.first?.hasPrefix("operations.listen:") == true, "\(listen)")
        }
        #expect(
            F.problems(#"{"operations": {}, "credentials": {"a": {\#(F.credential)}}}"#).first?
                .hasPrefix("operations.listen:") == true)
    }
}
