@testable import TokenProxyCore

/// Shared fixtures for the configuration tests: small documents and a way to see their problems.
enum ConfigFixture {
    /// The smallest valid credential body.
    static let credential =
        #""key_file": "/etc/tokenproxy/a.json", "issuer": "https://idp.example.com""#

    /// A document with one credential `a` whose body is the minimal one plus `extra`.
    static func withCredential(_ extra: String) -> String {
        #"{"credentials": {"a": {\#(credential), \#(extra)}}}"#
    }

    /// A document with one minimal credential and the given `api` section body.
    static func withAPI(_ body: String) -> String {
        #"{"api": {\#(body)}, "credentials": {"a": {\#(credential)}}}"#
    }

    /// The problems of `json`, rendered as `path: message`, or `[]` when it parses.
    static func problems(_ json: String) -> [String] {
        do {
            _ = try ConfigurationParser.parse(Array(json.utf8), file: "test.json")
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    /// Parses `json`, which the test expects to be valid.
    static func parse(_ json: String) throws -> Configuration {
        try ConfigurationParser.parse(Array(json.utf8), file: "test.json")
    }
}
