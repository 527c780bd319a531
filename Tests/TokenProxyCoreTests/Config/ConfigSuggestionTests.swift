import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ConfigSuggestionTests {
    let keys = ConfigurationParser.credentialKeys

    @Test func countsATranspositionAsOneEdit() {
        #expect(ConfigSuggestion.editDistance("grnat", "grant") == 1)
        #expect(ConfigSuggestion.editDistance("kitten", "sitting") == 3)
        #expect(ConfigSuggestion.editDistance("", "abc") == 3)
    }

    @Test func suggestsKeysWithinTwoEdits() {
        #expect(ConfigSuggestion.closest(to: "grnat", among: keys) == "grant")
        #expect(ConfigSuggestion.closest(to: "scope", among: keys) == "scopes")
        #expect(ConfigSuggestion.closest(to: "isuer", among: keys) == "issuer")
    }

    @Test func matchesCamelCaseAndCaseDifferences() {
        #expect(ConfigSuggestion.closest(to: "clientId", among: keys) == "client_id")
        #expect(
            ConfigSuggestion.closest(to: "assertionLifetime", among: keys) == "assertion_lifetime")
        #expect(
            ConfigSuggestion.closest(to: "es256", among: SigningAlgorithm.allCases.map(\.rawValue))
                == "ES256")
    }

    @Test func suggestsNothingForUnrelatedWords() {
        #expect(ConfigSuggestion.closest(to: "colour", among: keys) == nil)
        #expect(ConfigSuggestion.closest(to: "x", among: ["tcp"]) == nil)
    }

    @Test func expandsAbbreviationsOfThreeLettersOrMore() {
        #expect(
            ConfigSuggestion.closest(to: "warn", among: LogLevel.allCases.map(\.rawValue))
                == "warning")
        #expect(ConfigSuggestion.closest(to: "cr", among: LogLevel.allCases.map(\.rawValue)) == nil)
    }
}
