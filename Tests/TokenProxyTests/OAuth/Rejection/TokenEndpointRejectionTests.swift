import Testing
import TokenProxyCore

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct TokenEndpointRejectionTests {
    private func rejection(
        _ status: Int, _ body: String, contentType: String? = nil, secrets: [String] = []
    ) -> TokenEndpointRejection {
        TokenEndpointRejection(
            status: status, contentType: contentType, body: Array(body.utf8), secrets: secrets)
    }

    @Test func readsOAuthErrorJSON() {
        let r = rejection(400, #"{"error":"invalid_grant","error_description":"jti reused"}"#)
        #expect(r.error == "invalid_grant")
        #expect(r.detail == "jti reused")
        #expect(r.isCredentialProblem)
        #expect(
            r.description.hasPrefix("HTTP 400 invalid_grant: jti reused. The server did not accept")
        )
    }

    @Test func describesEmptyBodies() {
        let r = rejection(401, "")
        #expect(r.error == nil)
        #expect(r.detail == "empty body")
        #expect(r.isCredentialProblem)
        #expect(r.description.contains("HTTP 401"))
    }

    @Test func summarizesHTMLPagesByTitle() {
        let page =
            "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>x</h1></body></html>"
        let r = rejection(502, page, contentType: "text/html")
        #expect(r.detail == "HTML page: 502 Bad Gateway")
        #expect(!r.isCredentialProblem)
        #expect(r.description.contains("retries with backoff"))
    }

    @Test func stripsTagsFromUntitledHTML() {
        let r = rejection(500, "<html><body><p>Internal\nerror</p></body></html>")
        #expect(r.detail == "HTML page: Internal error")
    }

    @Test func scrubsEchoedSecretsAndTruncates() {
        let assertion = "eyJhbGciOi.eyJpc3Mi.c2ln"
        let r = rejection(
            400, "bad assertion \(assertion) " + String(repeating: "x", count: 1000),
            secrets: [assertion])
        #expect(!(r.detail ?? "").contains(assertion))
        #expect((r.detail ?? "").contains("<redacted>"))
        #expect((r.detail ?? "").count <= Limits.IdP.maxQuotedDetailCharacters + 1)
    }

    @Test func ignoresInvalidErrorCodes() {
        let r = rejection(400, #"{"error":"bad\"code"}"#)
        #expect(r.error == nil)
        #expect(r.detail?.hasPrefix("JSON without an OAuth error code") == true)
    }

    @Test func serverErrorsAreNotCredentialProblems() {
        #expect(!rejection(503, "busy").isCredentialProblem)
        #expect(rejection(400, #"{"error":"invalid_client"}"#).isCredentialProblem)
        #expect(!rejection(400, #"{"error":"invalid_scope"}"#).isCredentialProblem)
    }
}
