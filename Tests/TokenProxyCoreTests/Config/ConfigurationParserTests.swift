import Foundation
import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserTests {
    typealias F = ConfigFixture

    @Test func appliesDefaultsToAMinimalFile() throws {
        let configuration = try F.parse(#"{"credentials": {"a": {\#(F.credential)}}}"#)
        #expect(configuration.api == APIConfiguration())
        #expect(configuration.api.socket == "/run/tokenproxy/tokenproxy.sock")
        #expect(configuration.api.socketMode == 0o660)
        #expect(configuration.api.allowsAnyPeer)
        #expect(configuration.api.tcp == nil)
        #expect(configuration.log.level == .info)
        #expect(configuration.proxy == nil)
        let credential = try #require(configuration.credential(named: "a"))
        #expect(credential.keySource == .file(path: "/etc/tokenproxy/a.json"))
        #expect(credential.grant == nil)
        #expect(credential.scopes.isEmpty)
        #expect(credential.assertionLifetime == .seconds(300))
        #expect(credential.clockSkew == .seconds(10))
        #expect(credential.assertionAudience == ["https://idp.example.com"])
        #expect(credential.allowInsecureKeyPermissions == false)
        #expect(credential.refresh == RefreshConfiguration())
    }

    @Test func samplePassesWithEveryOptionSet() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../config.sample.json").standardizedFileURL
        let configuration = try ConfigurationParser.parse(
            [UInt8](try Data(contentsOf: url)), file: url.path)
        #expect(configuration.credentials.map(\.name) == ["zitadel-admin", "gateway"])
        #expect(configuration.api.allowedUIDs == [0, 1001])
        #expect(configuration.api.tcp == TCPListenerConfiguration(host: "127.0.0.1", port: 8181))
        #expect(configuration.api.socketGroup == "tokenproxy")
        let gateway = try #require(configuration.credential(named: "gateway"))
        #expect(gateway.keySource == .systemdCredential(name: "gateway-key"))
        #expect(gateway.algorithm == .es384)
        #expect(gateway.grant == .clientCredentials)
        #expect(gateway.extraParameters == ["audience": "billing-api"])
        #expect(gateway.introspection.cacheTTL == .seconds(60))
        // Three injecting routes and one guard-only route.
        #expect(configuration.proxy?.routes.count == 4)
        #expect(configuration.proxy?.routes.last?.guard?.credential == "gateway")
        #expect(configuration.proxy?.routes.last?.credential == nil)
    }

    /// The schema beside the sample must name exactly the keys the parser knows, level by level.
    @Test func schemaListsExactlyTheKeysTheParserKnows() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../config.schema.json").standardizedFileURL
        let schema = try ConfigJSON.parse([UInt8](try Data(contentsOf: url)))
        func keys(_ node: ConfigJSON?) -> Set<String> {
            guard case .object(let members)? = node?["properties"] else { return [] }
            return Set(members.map(\.key))
        }
        let api = schema["properties"]?["api"]
        let credential = schema["$defs"]?["credential"]
        #expect(keys(schema) == Set(ConfigurationParser.topLevelKeys))
        #expect(keys(api) == Set(ConfigurationParser.apiKeys))
        #expect(keys(api?["properties"]?["tcp"]) == Set(ConfigurationParser.tcpKeys))
        #expect(keys(schema["properties"]?["log"]) == Set(ConfigurationParser.logKeys))
        #expect(keys(credential) == Set(ConfigurationParser.credentialKeys))
        #expect(keys(credential?["properties"]?["refresh"]) == Set(ConfigurationParser.refreshKeys))
    }

    @Test func keepsCredentialsInFileOrder() throws {
        let json =
            #"{"credentials": {"z": {\#(F.credential)}, "a": {\#(F.credential)}, "m": {\#(F.credential)}}}"#
        #expect(try F.parse(json).credentials.map(\.name) == ["z", "a", "m"])
    }

    @Test func reportsSyntaxErrorsWithLineAndColumn() {
        #expect(
            F.problems("{\n  \"credentials\": {,}\n}")
                == ["line 2, column 19: invalid JSON: expected a key in double quotes, found ','"])
    }

    @Test func requiresAnObjectAtTheTop() {
        #expect(F.problems("[]") == ["expected an object, got an array"])
    }

    @Test func requiresAtLeastOneCredential() {
        #expect(
            F.problems("{}") == [
                "credentials: required key is missing; add at least one credential (see config.sample.json)"
            ])
        #expect(
            F.problems(#"{"credentials": {}}"#) == [
                "credentials: must contain at least one credential"
            ])
    }

    @Test func suggestsTheClosestKeyForUnknownKeys() {
        #expect(
            F.problems(#"{"credentail": {}, "credentials": {"a": {\#(F.credential)}}}"#)
                == ["credentail: unknown key; did you mean 'credentials'?"])
        #expect(
            F.problems(#"{"colour": 1, "credentials": {"a": {\#(F.credential)}}}"#)
                == [
                    "colour: unknown key; known keys here: $schema, api, credentials, log, proxy, operations"
                ])
    }

    @Test func reportsDuplicateKeysWithTheFirstLine() {
        let json =
            "{\"log\": {\"level\": \"info\",\n\"level\": \"debug\"}, \"credentials\": {\"a\": {\(F.credential)}}}"
        #expect(
            F.problems(json) == [
                "log.level: duplicate key (first on line 1); keep only one of them"
            ])
    }

    @Test func reportsEveryProblemAtOnceInFileOrder() {
        let json = #"""
            {"api": {"socket_mode": 660, "tcp": {"listen": "0.0.0.0:80"}},
             "credentials": {"gateway": {"key_file": "gateway.pem", "issuer": "http://idp.example.com", "grnat": "jwt-bearer",
                                         "scopes": "openid", "assertion_lifetime": 7200}},
             "log": {"level": "verbose"}}
            """#
        #expect(
            F.problems(json) == [
                #"api.socket_mode: must be an octal string like "0660" (got a number; JSON has no octal numbers)"#,
                "api.tcp.listen: 0.0.0.0 is not a loopback address; the TCP listener gives tokens to anyone who can "
                    + "connect, so it only listens on 127.0.0.0/8 or [::1] (use the Unix socket and allowed_uids for other callers)",
                "credentials.gateway.grnat: unknown key; did you mean 'grant'?",
                #"credentials.gateway.key_file: must be an absolute path or "credential:NAME" for a systemd credential (LoadCredential=); did you mean "credential:gateway.pem"?"#,
                "credentials.gateway.issuer: use https: http is only allowed for loopback hosts, because the assertion and the tokens would cross the network in clear text",
                "credentials.gateway.scopes: expected an array of strings, got a string",
                "credentials.gateway.assertion_lifetime: must be between 1 and 3600 seconds (got 7200)",
                #"log.level: must be one of "trace", "debug", "info", "notice", "warning", "error", "critical" (got "verbose")"#,
            ])
    }

    @Test func acceptsEveryLogLevel() throws {
        for level in LogLevel.allCases {
            let json =
                #"{"log": {"level": "\#(level.rawValue)"}, "credentials": {"a": {\#(F.credential)}}}"#
            #expect(try F.parse(json).log.level == level)
        }
        #expect(
            F.problems(#"{"log": {"level": "warn"}, "credentials": {"a": {\#(F.credential)}}}"#)
                .first?
                .hasSuffix(#"(got "warn"); did you mean "warning"?"#) == true)
    }

    @Test func acceptsSchemaKeyButOnlyAsAString() {
        #expect(
            F.problems(
                #"{"$schema": "./config.schema.json", "credentials": {"a": {\#(F.credential)}}}"#)
                == [])
        #expect(
            F.problems(#"{"$schema": 1, "credentials": {"a": {\#(F.credential)}}}"#) == [
                "$schema: expected a string, got a number"
            ])
    }

    @Test func errorDescriptionPrefixesEveryLineWithTheFile() {
        let error = ConfigurationError(
            file: "/etc/tokenproxy/config.json",
            problems: [.init(path: "a", message: "x"), .init(path: "", message: "y")])
        #expect(
            error.description == "/etc/tokenproxy/config.json: a: x\n/etc/tokenproxy/config.json: y"
        )
    }
}
