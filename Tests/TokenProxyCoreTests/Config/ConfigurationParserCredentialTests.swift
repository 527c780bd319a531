import Foundation
import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserCredentialTests {
    typealias F = ConfigFixture

    @Test func parsesEveryCredentialOption() throws {
        let json = F.withCredential(
            #"""
            "grant": "client-credentials", "scopes": ["openid", "api:read"], "client_id": "c1", "key_id": "k1",
            "audience": "https://aud.example.com", "token_endpoint": "https://idp.example.com/oauth/v2/token",
            "resources": ["urn:example:api", "https://api.example.com/"], "extra_params": {"audience": "x"},
            "algorithm": "EdDSA", "assertion_lifetime": 60, "clock_skew": 0, "ca_file": "/etc/ssl/ca.pem",
            "allow_insecure_key_permissions": true,
            "refresh": {"fraction": 0.8, "before_expiry": 120, "min_before_expiry": 30, "jitter": 0,
                        "backoff_initial": 0.5, "backoff_max": 60, "default_lifetime": 600}
            """#)
        let credential = try #require(try F.parse(json).credential(named: "a"))
        #expect(credential.grant == .clientCredentials)
        #expect(credential.scopes == ["openid", "api:read"])
        #expect(credential.clientID == "c1")
        #expect(credential.keyID == "k1")
        #expect(credential.assertionAudience == ["https://aud.example.com"])
        #expect(credential.tokenEndpoint == URL(string: "https://idp.example.com/oauth/v2/token"))
        #expect(credential.resources == ["urn:example:api", "https://api.example.com/"])
        #expect(credential.extraParameters == ["audience": "x"])
        #expect(credential.algorithm == .edDSA)
        #expect(credential.assertionLifetime == .seconds(60))
        #expect(credential.clockSkew == .zero)
        #expect(credential.caFile == "/etc/ssl/ca.pem")
        #expect(credential.allowInsecureKeyPermissions)
        #expect(
            credential.refresh
                == RefreshConfiguration(
                    fraction: 0.8, beforeExpiry: .seconds(120), minimumBeforeExpiry: .seconds(30),
                    jitter: 0,
                    backoffInitial: .milliseconds(500), backoffMaximum: .seconds(60),
                    defaultLifetime: .seconds(600)))
    }

    @Test func acceptsAudienceAsAList() throws {
        let credential = try F.parse(F.withCredential(#""audience": ["a", "b"]"#)).credentials[0]
        #expect(credential.assertionAudience == ["a", "b"])
        #expect(
            F.problems(F.withCredential(#""audience": []"#)) == [
                "credentials.a.audience: must not be empty; leave the key out to use the default"
            ])
        #expect(
            F.problems(F.withCredential(#""audience": 1"#)) == [
                "credentials.a.audience: expected a string or an array of strings, got a number"
            ])
    }

    @Test func requiresKeyFileAndIssuer() {
        #expect(
            F.problems(#"{"credentials": {"a": {}}}"#) == [
                "credentials.a.key_file: required key is missing",
                "credentials.a.issuer: required key is missing",
            ])
    }

    @Test func readsSystemdCredentialKeySources() throws {
        let credential = try F.parse(
            #"{"credentials": {"a": {"key_file": "credential:zitadel", "issuer": "https://i.example"}}}"#
        ).credentials[0]
        #expect(credential.keySource == .systemdCredential(name: "zitadel"))
        #expect(
            credential.keySource.path(credentialsDirectory: "/run/credentials/tokenproxy.service")
                == "/run/credentials/tokenproxy.service/zitadel")
        #expect(credential.keySource.path(credentialsDirectory: nil) == nil)
        #expect(credential.keySource.description == "credential:zitadel")
        let bad = F.problems(
            #"{"credentials": {"a": {"key_file": "credential:../x", "issuer": "https://i.example"}}}"#
        )
        #expect(
            bad == [
                #"credentials.a.key_file: "credential:../x" needs a systemd credential name without '/' after "credential:""#
            ])
        let relative = F.problems(
            #"{"credentials": {"a": {"key_file": "keys/a.json", "issuer": "https://i.example"}}}"#)
        #expect(
            relative == [
                #"credentials.a.key_file: must be an absolute path or "credential:NAME" for a systemd credential (LoadCredential=)"#
            ])
    }

    @Test(arguments: ["gateway", "a.b", "A_1-x", String(repeating: "n", count: 64)])
    func acceptsCredentialNames(_ name: String) {
        #expect(F.problems(#"{"credentials": {"\#(name)": {\#(F.credential)}}}"#) == [])
    }

    @Test(arguments: ["", "a/b", "a b", "é", "a?x", String(repeating: "n", count: 65)])
    func refusesCredentialNamesOutsideThePattern(_ name: String) {
        let problems = F.problems(#"{"credentials": {"\#(name)": {\#(F.credential)}}}"#)
        #expect(problems.count == 1)
        #expect(
            problems.first?.hasSuffix(
                "credential names must be 1 to 64 letters, digits, '.', '_' or '-' (they appear in URLs)"
            ) == true)
    }

    @Test func refusesDotNames() {
        #expect(
            F.problems(#"{"credentials": {"..": {\#(F.credential)}}}"#)
                == [#"[".."]: '..' cannot be a credential name: URL paths resolve it away"#].map {
                    "credentials" + $0
                })
    }

    @Test func allowsHTTPOnlyTowardLoopback() {
        for issuer in [
            "http://localhost:8080", "http://127.0.0.1", "http://[::1]:9000/realm",
            "https://idp.example.com",
        ] {
            #expect(
                F.problems(#"{"credentials": {"a": {"key_file": "/k", "issuer": "\#(issuer)"}}}"#)
                    == [], "\(issuer)")
        }
        #expect(
            F.problems(F.withCredential(#""token_endpoint": "http://10.0.0.1/token""#)).first?
                .hasPrefix(
                    "credentials.a.token_endpoint: use https") == true)
    }

    @Test(arguments: [
        "idp.example.com", "ftp://idp.example.com", "https://", "https://u:p@idp.example.com",
        "https://idp.example.com?x=1", "https://idp.example.com#f",
    ])
    func refusesUnusableIssuers(_ issuer: String) {
        let problems = F.problems(
            #"{"credentials": {"a": {"key_file": "/k", "issuer": "\#(issuer)"}}}"#)
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("credentials.a.issuer: must") == true)
    }

    @Test func neverQuotesAURLThatMayHoldAPassword() {
        for issuer in [
            "ftp://user:s3cret@idp.example.com", "https://user:s3cret@idp.example.com",
            "user:s3cret@idp",
        ] {
            let problems = F.problems(
                #"{"credentials": {"a": {"key_file": "/k", "issuer": "\#(issuer)"}}}"#)
            #expect(problems.count == 1)
            #expect(problems.allSatisfy { !$0.contains("s3cret") }, "\(problems)")
        }
    }

    @Test func checksScopesAndResources() {
        #expect(
            F.problems(
                F.withCredential(
                    #""scopes": ["openid profile", "a\"b", 3], "resources": ["not a uri", "https://x#y"]"#
                )
            ) == [
                #"credentials.a.scopes[2]: expected a string, got a number"#,
                #"credentials.a.resources[0]: must be an absolute URI without a fragment, like "https://api.example.com" (RFC 8707)"#,
                #"credentials.a.resources[1]: must be an absolute URI without a fragment, like "https://api.example.com" (RFC 8707)"#,
            ])
        #expect(
            F.problems(F.withCredential(#""scopes": ["openid profile", "a\"b"]"#)) == [
                #"credentials.a.scopes[0]: "openid profile" holds several scopes; list each scope as its own string"#,
                "credentials.a.scopes[1]: contains a character a scope may not have (RFC 6749 §3.3)",
            ])
    }

    @Test func refusesExtraParametersTokenproxySetsItself() {
        #expect(
            F.problems(
                F.withCredential(#""extra_params": {"scope": "x", "grant_type": "y", "ok": 1}"#))
                == [
                    "credentials.a.extra_params.scope: tokenproxy sends this parameter itself; use 'scopes'",
                    "credentials.a.extra_params.grant_type: tokenproxy sends this parameter itself; set it with 'grant'",
                    "credentials.a.extra_params.ok: expected a string, got a number",
                ])
    }

    @Test func suggestsGrantsAndAlgorithms() {
        #expect(
            F.problems(F.withCredential(#""grant": "jwt_bearer", "algorithm": "es256""#)) == [
                #"credentials.a.grant: must be one of "jwt-bearer", "client-credentials" (got "jwt_bearer"); did you mean "jwt-bearer"?"#,
                #"credentials.a.algorithm: must be one of "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA" (got "es256"); did you mean "ES256"?"#,
            ])
    }

    @Test func checksDurationsAndTheirRelations() {
        #expect(
            F.problems(F.withCredential(#""assertion_lifetime": 0, "clock_skew": 1.5"#)) == [
                "credentials.a.assertion_lifetime: must be between 1 and 3600 seconds (got 0)",
                "credentials.a.clock_skew: must be a whole number of seconds (got 1.5)",
            ])
        #expect(
            F.problems(F.withCredential(#""assertion_lifetime": 30, "clock_skew": 30"#)) == [
                "credentials.a.clock_skew: must be less than assertion_lifetime, or assertions would expire before they are signed"
            ])
        #expect(
            F.problems(F.withCredential(#""clock_skew": 301"#)) == [
                "credentials.a.clock_skew: must be between 0 and 300 seconds (got 301)"
            ])
    }

    @Test func checksRefreshSettings() {
        #expect(
            F.problems(
                F.withCredential(
                    #""refresh": {"fraction": 0, "jitter": 0.9, "before_expiry": 30, "min_before_expiry": 60, "backoff_initial": 10, "backoff_max": 5, "defualt_lifetime": 1}"#
                )) == [
                    "credentials.a.refresh.defualt_lifetime: unknown key; did you mean 'default_lifetime'?",
                    "credentials.a.refresh.fraction: must be between 0.01 and 0.99 (got 0)",
                    "credentials.a.refresh.jitter: must be between 0 and 0.5 (got 0.9)",
                    "credentials.a.refresh.min_before_expiry: must not exceed before_expiry (60 > 30 seconds)",
                    "credentials.a.refresh.backoff_max: backoff_max must be at least backoff_initial (5 < 10 seconds)",
                ])
    }

    @Test func lowersTheDefaultMinimumWithASmallBeforeExpiry() throws {
        let refresh = try F.parse(F.withCredential(#""refresh": {"before_expiry": 30}"#))
            .credentials[0].refresh
        #expect(refresh.beforeExpiry == .seconds(30))
        #expect(refresh.minimumBeforeExpiry == .seconds(30))
    }

    @Test func reportsProblemsOfSeveralCredentials() {
        let json =
            #"{"credentials": {"a": {"key_file": "/k", "issuer": "https://i", "grnat": "x"}, "b": {"key_file": "/k"}, "a": {}}}"#
        #expect(
            F.problems(json) == [
                "credentials.a: duplicate key (first on line 1); keep only one of them",
                "credentials.a.grnat: unknown key; did you mean 'grant'?",
                "credentials.b.issuer: required key is missing",
            ])
    }

    @Test func keyHookRequiresClientIDForPEMKeys() throws {
        let credential = try F.parse(F.withCredential(#""algorithm": "ES384""#)).credentials[0]
        #expect(credential.problems(keyFormat: .zitadelJSON).isEmpty)
        #expect(
            credential.problems(keyFormat: .pem).map(\.description) == [
                "credentials.a.client_id: required for a PEM key (it does not name its client)"
            ])
        #expect(
            credential.problems(keyFormat: .zitadelJSON, compatibleAlgorithms: [.es256]).map(
                \.description)
                == ["credentials.a.algorithm: ES384 does not suit this key; use one of ES256"])
    }
}

@Suite(.timeLimit(.minutes(1)))
struct ConfigurationParserIntrospectionTests {
    typealias F = ConfigFixture

    @Test func defaultsWithoutTheObject() throws {
        let credential = try #require(
            try F.parse(F.withCredential(#""scopes": []"#)).credential(named: "a"))
        #expect(credential.introspection == IntrospectionConfiguration())
        #expect(credential.introspection.cacheTTL == Limits.Introspection.defaultCacheTTL)
    }

    @Test func parsesEveryIntrospectionOption() throws {
        let json = F.withCredential(
            #"""
            "introspection": {"mode": "introspect", "cache_ttl": 0, "inactive_ttl": 2.5,
              "audience": ["https://idp.example.com/oauth/v2/introspect"],
              "introspection_endpoint": "https://idp.example.com/oauth/v2/introspect"}
            """#)
        let credential = try #require(try F.parse(json).credential(named: "a"))
        #expect(credential.introspection.mode == .introspect)
        #expect(credential.introspection.cacheTTL == .zero)
        #expect(credential.introspection.inactiveTTL == .milliseconds(2500))
        #expect(
            credential.introspection.audience == ["https://idp.example.com/oauth/v2/introspect"])
        #expect(
            credential.introspection.endpoint
                == URL(string: "https://idp.example.com/oauth/v2/introspect"))
    }

    @Test func namesTheJSONPathOfEachProblem() {
        let problems = F.problems(
            F.withCredential(
                #""introspection": {"mode": "guess", "cache_ttl": 7200, "introspection_endpoint": "http://idp.example.com/i", "ttl": 1}"#
            ))
        #expect(problems.contains { $0.hasPrefix("credentials.a.introspection.mode:") })
        #expect(problems.contains { $0.hasPrefix("credentials.a.introspection.cache_ttl:") })
        #expect(
            problems.contains {
                $0.hasPrefix("credentials.a.introspection.introspection_endpoint:")
            })
        #expect(problems.contains { $0.hasPrefix("credentials.a.introspection.ttl:") })
    }

    @Test func jwtModesNeedTokenAudience() throws {
        #expect(
            F.problems(F.withCredential(#""introspection": {"mode": "jwt"}"#)).contains {
                $0.hasPrefix("credentials.a.introspection.token_audience:")
            })
        let json = F.withCredential(
            #""introspection": {"mode": "jwt+introspect", "token_audience": "api"}"#)
        let credential = try #require(try F.parse(json).credential(named: "a"))
        #expect(credential.introspection.mode == .jwtAndIntrospect)
        #expect(credential.introspection.tokenAudience == "api")
    }
}
