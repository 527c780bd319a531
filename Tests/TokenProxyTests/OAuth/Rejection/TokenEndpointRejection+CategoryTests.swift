import Foundation
import Testing
import TokenProxyCore

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct TokenEndpointRejectionCategoryTests {
    private func rejection(_ status: Int, _ body: String = "") -> TokenEndpointRejection {
        TokenEndpointRejection(
            status: status, contentType: "application/json", body: Array(body.utf8), secrets: [])
    }

    private static let summary = TokenRequestSummary(
        clientID: "svc", keyID: "k1", audience: ["https://idp.example"],
        issuer: "https://idp.example", tokenEndpoint: "https://idp.example/oauth/token",
        scopes: [])

    @Test(arguments: [
        (400, #"{"error":"invalid_scope"}"#), (400, ""), (404, ""), (405, "<html>no</html>"),
        (400, #"{"error":"unsupported_grant_type"}"#), (400, #"{"error":"invalid_request"}"#),
        (302, ""), (410, "gone"),
    ])
    func requestsTheClientMustChangeAreRequestRejected(status: Int, body: String) {
        let r = rejection(status, body)
        #expect(r.category == .requestRejected)
        #expect(
            ExitStatus.forFailure(.rejected(credential: "c", endpoint: "e", rejection: r))
                == .configuration)
    }

    @Test(arguments: [
        (401, ""), (403, ""), (400, #"{"error":"invalid_grant"}"#),
        (401, #"{"error":"invalid_client"}"#), (400, #"{"error":"unauthorized_client"}"#),
    ])
    func refusedCredentialsAreCredentialRejected(status: Int, body: String) {
        let r = rejection(status, body)
        #expect(r.category == .credentialRejected)
        #expect(
            ExitStatus.forFailure(.rejected(credential: "c", endpoint: "e", rejection: r))
                == .permissionDenied)
    }

    @Test(arguments: [
        (500, ""), (502, "<html>bad gateway</html>"), (503, ""), (408, ""), (429, ""),
        (400, #"{"error":"temporarily_unavailable"}"#), (503, #"{"error":"invalid_grant"}"#),
    ])
    func transientAnswersAreUnavailable(status: Int, body: String) {
        let r = rejection(status, body)
        #expect(r.category == .unavailable)
        #expect(
            ExitStatus.forFailure(.rejected(credential: "c", endpoint: "e", rejection: r))
                == .unavailable)
    }

    @Test func discoveryAnswersAreClassifiedByStatus() {
        func error(_ status: Int) -> OAuthError {
            .discoveryRejected(
                credential: "c", url: "https://i/.well-known/x", rejection: rejection(status))
        }
        #expect(error(404).category == .requestRejected)
        #expect(ExitStatus.forFailure(error(404)) == .configuration)
        #expect(error(403).category == .requestRejected)
        #expect(error(503).category == .unavailable)
        #expect(error(404).description.contains("Check the issuer URL"))
        #expect(error(404).description.hasSuffix(".") && !error(404).description.contains(".."))
    }

    @Test func emptyForbiddenGetsAChecklistFromWhatWasSent() {
        var r = rejection(403)
        r.request = Self.summary
        let text = r.description
        #expect(text.contains("without an OAuth error code"))
        #expect(text.contains("this server may require a scope"))
        #expect(text.contains("some servers require the token endpoint URL as audience"))
        #expect(text.contains("--audience https://idp.example/oauth/token"))
        #expect(text.contains("key id 'k1'") && text.contains("client 'svc'"))
        #expect(text.contains("clock"))
        #expect(text.hasSuffix(".") && !text.hasSuffix(".."))
    }

    @Test func checklistLeavesOutWhatWasAlreadyRight() {
        var r = rejection(401)
        var summary = Self.summary
        summary.scopes = ["openid"]
        summary.audience = [summary.tokenEndpoint]
        r.request = summary
        #expect(!r.description.contains("may require a scope"))
        #expect(!r.description.contains("as audience"))
        #expect(r.description.contains("registered at the IdP"))
    }

    @Test func everyMessageEndsWithOnePeriod() {
        let r = rejection(400, #"{"error":"invalid_scope","error_description":"Scope unknown."}"#)
        let error = OAuthError.rejected(credential: "c", endpoint: "https://e/t", rejection: r)
        #expect(error.description.contains("Scope unknown. Check the requested scopes"))
        #expect(!error.description.contains(".."))
        #expect(error.description.hasSuffix("(--scope / scopes)."))
        #expect(
            OAuthError.transport(credential: "c", endpoint: "e", detail: "refused.").description
                .hasSuffix("refused."))
        #expect(Sentence.end("Done...  ") == "Done.")
        #expect(Sentence.end("Why?") == "Why?")
        #expect(Sentence.join(["a.", nil, "b"]) == "a. b.")
    }

    @Test func readsRetryAfterAsSecondsOrDate() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(TokenEndpointRejection.parseRetryAfter("7", now: now) == .seconds(7))
        #expect(TokenEndpointRejection.parseRetryAfter(" 0 ", now: now) == .zero)
        #expect(
            TokenEndpointRejection.parseRetryAfter("99999999999999", now: now)
                == Limits.IdP.maxRetryAfter)
        let date = "Fri, 15 Jan 2027 08:00:30 GMT"  // 1_800_000_030
        #expect(TokenEndpointRejection.parseRetryAfter(date, now: now) == .seconds(30))
        #expect(TokenEndpointRejection.parseRetryAfter("soon", now: now) == nil)
        #expect(TokenEndpointRejection.parseRetryAfter(nil, now: now) == nil)
    }
}
