import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct JWTClaimsCheckTests {
    let check = JWTClaimsCheck(
        issuer: "https://idp.example.com", audience: "api", leeway: .seconds(30))
    let now = 1_700_000_000.0

    func result(_ claims: String) -> Result<IntrospectionAnswer, JWTClaimsCheck.Reason> {
        check.answer(payload: Array(claims.utf8), unixNow: now)
    }

    @Test func acceptsAndAnswersActive() throws {
        let answer = try result(
            #"{"iss":"https://idp.example.com/","aud":["x","api"],"exp":1700000100,"sub":"s","scope":"a b"}"#
        ).get()
        #expect(answer.active && answer.subject == "s" && answer.scopes == ["a", "b"])
        #expect(String(decoding: answer.json, as: UTF8.self).contains(#""active":true"#))
    }

    @Test func refusals() {
        typealias R = JWTClaimsCheck.Reason
        #expect(throws: R.wrongIssuer) {
            try result(#"{"iss":"https://evil","aud":"api","exp":1700000100}"#).get()
        }
        #expect(throws: R.wrongAudience) {
            try result(#"{"iss":"https://idp.example.com","aud":"other","exp":1700000100}"#).get()
        }
        #expect(throws: R.expired) {
            try result(#"{"iss":"https://idp.example.com","aud":"api","exp":1699999960}"#).get()
        }
        #expect(throws: R.notYetValid) {
            try result(
                #"{"iss":"https://idp.example.com","aud":"api","exp":1700000100,"nbf":1700000060}"#
            )
            .get()
        }
        #expect(throws: R.malformed("no exp")) {
            try result(#"{"iss":"https://idp.example.com","aud":"api"}"#).get()
        }
    }

    @Test func leewayAllowsSmallSkew() throws {
        // Expired 10 s ago, nbf 10 s ahead: within 30 s of leeway.
        _ = try result(
            #"{"iss":"https://idp.example.com","aud":"api","exp":1699999990,"nbf":1700000010}"#
        ).get()
    }
}
