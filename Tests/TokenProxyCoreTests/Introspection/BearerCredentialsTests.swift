import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct BearerCredentialsTests {
    func token(_ fields: [(String, String)]) -> Result<String, BearerCredentials.Problem> {
        BearerCredentials.token(in: HTTPFields(fields))
    }

    @Test func takesTheB64Token() throws {
        #expect(try token([("Authorization", "Bearer abc.DEF-_~+/==")]).get() == "abc.DEF-_~+/==")
        #expect(try token([("authorization", "bearer  t ")]).get() == "t")
    }

    @Test func missingOrOtherScheme() {
        #expect(throws: BearerCredentials.Problem.missing) { try token([]).get() }
        #expect(throws: BearerCredentials.Problem.missing) {
            try token([("Authorization", "Basic dXNlcjpwYXNz")]).get()
        }
    }

    @Test func malformed() {
        for value in ["Bearer", "Bearer a b", "Bearer a,b", "Bearer \u{7F}"] {
            #expect(throws: BearerCredentials.Problem.malformed) {
                try token([("Authorization", value)]).get()
            }
        }
        #expect(throws: BearerCredentials.Problem.malformed) {
            try token([("Authorization", "Bearer a"), ("Authorization", "Bearer a")]).get()
        }
    }
}
