import Testing

@testable import TokenProxy
@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct StatusLineTests {
    private func status(
        _ name: String, expiresIn: Duration?, next: Duration?, error: TokenFetchFailure? = nil
    ) -> CredentialStatus {
        CredentialStatus(
            name: name, state: expiresIn == nil ? .failed : .valid, expiresIn: expiresIn,
            lastError: error, lastErrorAgo: nil, consecutiveFailures: error == nil ? 0 : 1,
            lastSuccessAgo: nil, nextRefreshIn: next, fetchInFlight: false, waiters: 0)
    }

    @Test func countsValidTokensAndTheNextRefresh() {
        let text = StatusLine.text([
            status("a", expiresIn: .seconds(600), next: .seconds(250)),
            status("b", expiresIn: .seconds(900), next: .seconds(72)),
        ])
        #expect(text == "2/2 tokens valid, next refresh in 1m12s")
    }

    @Test func namesTheCredentialsWithoutAToken() {
        let text = StatusLine.text([
            status("a", expiresIn: .seconds(600), next: .seconds(9)),
            status(
                "b", expiresIn: nil, next: .seconds(3600),
                error: TokenFetchFailure(category: .unavailable, message: "down", at: .now)),
        ])
        #expect(text == "1/2 tokens valid, next refresh in 9s; waiting for b: unavailable")
    }

    @Test func formatsHours() {
        #expect(StatusLine.duration(.seconds(3725)) == "1h2m")
        #expect(StatusLine.duration(.seconds(-5)) == "0s")
    }
}
