import Foundation
import Testing

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct TokenResponseTests {
    private let now = Date(timeIntervalSince1970: 1_700_000_000)

    private func parse(_ json: String) -> Result<TokenResponse, TokenResponse.ParseFailure> {
        TokenResponse.parse(Array(json.utf8), receivedAt: now)
    }

    @Test func parsesZitadelStyleResponse() throws {
        let token = try parse(
            #"{"access_token":"MtjHod","token_type":"Bearer","expires_in":43199}"#
        )
        .get()
        #expect(token.accessToken.value == "MtjHod")
        #expect(token.tokenType == "Bearer")
        #expect(token.expiresIn == 43199)
        #expect(token.expiresAt == now.addingTimeInterval(43199))
    }

    @Test func acceptsExpiresInAsString() throws {
        let token = try parse(#"{"access_token":"t","token_type":"bearer","expires_in":"3600"}"#)
            .get()
        #expect(token.expiresIn == 3600)
    }

    @Test func acceptsFractionalExpiresIn() throws {
        #expect(try parse(#"{"access_token":"t","expires_in":59.9}"#).get().expiresIn == 59)
    }

    @Test func missingExpiresInIsUnknownNotZero() throws {
        let token = try parse(#"{"access_token":"t","token_type":"Bearer"}"#).get()
        #expect(token.expiresIn == nil)
        #expect(token.expiresAt == nil)
    }

    @Test func rejectsNegativeOrBooleanExpiresIn() {
        #expect(throws: TokenResponse.ParseFailure.badExpiresIn) {
            try parse(#"{"access_token":"t","expires_in":-5}"#).get()
        }
        #expect(throws: TokenResponse.ParseFailure.badExpiresIn) {
            try parse(#"{"access_token":"t","expires_in":true}"#).get()
        }
        #expect(throws: TokenResponse.ParseFailure.badExpiresIn) {
            try parse(#"{"access_token":"t","expires_in":"soon"}"#).get()
        }
    }

    /// Fuzz finding (token-response target): a number too large for `Int` trapped on
    /// conversion, so an IdP answering `expires_in: 1e300` crashed the daemon.
    @Test func rejectsExpiresInTooLargeForAnInteger() {
        for huge in ["1e300", "38888888888888888888888888888888888888600", "-1e300", "9.3e18"] {
            #expect(throws: TokenResponse.ParseFailure.badExpiresIn) {
                try parse(#"{"access_token":"t","expires_in":"# + huge + "}").get()
            }
        }
    }

    @Test func rejectsMissingOrEmptyAccessToken() {
        #expect(throws: TokenResponse.ParseFailure.missingAccessToken) {
            try parse(#"{"token_type":"Bearer"}"#).get()
        }
        #expect(throws: TokenResponse.ParseFailure.missingAccessToken) {
            try parse(#"{"access_token":""}"#).get()
        }
    }

    @Test func rejectsNonJSON() {
        #expect(throws: TokenResponse.ParseFailure.notJSON) { try parse("<html></html>").get() }
        #expect(throws: TokenResponse.ParseFailure.notJSON) { try parse("").get() }
    }

    @Test func tokenNeverAppearsInDescriptions() throws {
        let token = try parse(#"{"access_token":"SECRET-TOKEN","expires_in":1}"#).get()
        #expect(!"\(token)".contains("SECRET-TOKEN"))
        #expect(!String(reflecting: token).contains("SECRET-TOKEN"))
    }
}
