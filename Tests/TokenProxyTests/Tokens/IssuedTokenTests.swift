import Foundation
import Testing
import TokenProxyCore
import TokenProxyNet

@testable import TokenProxy

/// The bytes serialized once per token (``IssuedToken``) and the token API answers built from
/// them: the JSON shape stays that of a cloud metadata endpoint, `expires_in` counts down while
/// `expires_at` stays fixed, and nothing prints the token.
@Suite(.timeLimit(.minutes(1)))
struct IssuedTokenTests {
    private func snapshot(
        _ token: String = "tok-1", type: String = "Bearer", remaining: Duration = .seconds(600),
        expiresAtUnix: Int64 = 1_800_000_600
    ) -> TokenStore.Snapshot {
        let now = ContinuousClock.now
        return TokenStore.Snapshot(
            held: HeldToken(
                value: IssuedToken(accessToken: Redacted(token), tokenType: type, scope: "s"),
                receivedAt: now, expiresAt: now + remaining),
            expiresAtUnix: expiresAtUnix)
    }

    private func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    private func api() -> TokenAPI {
        TokenAPI(
            store: TokenStore(credentials: [], policies: [:], clients: [:], onEvent: { _ in }),
            metrics: Metrics(),
            access: TokenAPI.AccessPolicy(
                allowsAnyPeer: true, allowedUIDs: [], allowedGIDs: [], ownUID: 0),
            tcpRequirement: nil)
    }

    @Test func jsonBodyHasTheFourMembersWithTheGivenTimes() throws {
        let token = IssuedToken(accessToken: Redacted("abc"), tokenType: "Bearer", scope: nil)
        let body = try json(token.jsonBody(expiresIn: 599, expiresAt: 1_800_000_600))
        #expect(Set(body.keys) == ["access_token", "token_type", "expires_in", "expires_at"])
        #expect(body["access_token"] as? String == "abc")
        #expect(body["token_type"] as? String == "Bearer")
        #expect(body["expires_in"] as? Int == 599)
        #expect(body["expires_at"] as? Int == 1_800_000_600)
        #expect(
            token.jsonBody(expiresIn: 3, expiresAt: 9) != token.jsonBody(expiresIn: 2, expiresAt: 9)
        )
    }

    @Test func tokensNeedingJSONEscapesStayValidJSON() throws {
        let token = IssuedToken(
            accessToken: Redacted("a\"b\\c\u{1}"), tokenType: "bear\"er", scope: nil)
        let body = try json(token.jsonBody(expiresIn: 1, expiresAt: 2))
        #expect(body["access_token"] as? String == "a\"b\\c\u{1}")
        #expect(body["token_type"] as? String == "bear\"er")
        #expect(token.plainBody.value == Array("a\"b\\c\u{1}".utf8))
    }

    @Test func authorizationIsTheBearerHeaderValue() {
        let token = IssuedToken(accessToken: Redacted("abc"), tokenType: "bearer", scope: nil)
        #expect(token.authorization.value == "Bearer abc")
    }

    @Test func printingNeverShowsTheToken() {
        let token = IssuedToken(accessToken: Redacted("s3cr3t"), tokenType: "Bearer", scope: nil)
        var dumped = ""
        dump(token, to: &dumped)
        for text in ["\(token)", String(reflecting: token), dumped] {
            #expect(!text.contains("s3cr3t"))
        }
    }

    @Test func tokenResponseCountsDownExpiresInAndKeepsExpiresAt() throws {
        let response = api().tokenResponse(snapshot(remaining: .milliseconds(42_500)), text: false)
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.headers["Cache-Control"] == "no-store")
        let body = try json(response.body)
        #expect(body["access_token"] as? String == "tok-1")
        #expect((body["expires_in"] as? Int).map { (41...42).contains($0) } == true)
        #expect(body["expires_at"] as? Int == 1_800_000_600)
    }

    @Test func tokenResponseAsTextIsTheBareToken() {
        let response = api().tokenResponse(snapshot("tok-2"), text: true)
        #expect(response.headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(response.headers["Cache-Control"] == "no-store")
        #expect(response.body == Array("tok-2".utf8))
    }

    @Test func anExpiredSnapshotAnswersZeroNotNegative() throws {
        let response = api().tokenResponse(snapshot(remaining: .seconds(-5)), text: false)
        #expect(try json(response.body)["expires_in"] as? Int == 0)
    }
}

extension IssuedTokenTests {
    @Test func jsonResponseIsPreEncodedAndSharedWithinASecond() throws {
        let token = IssuedToken(accessToken: Redacted("tok-1"), tokenType: "Bearer", scope: nil)
        let first = token.jsonResponse(expiresIn: 599, expiresAt: 9)
        let again = token.jsonResponse(expiresIn: 599, expiresAt: 9)
        let later = token.jsonResponse(expiresIn: 598, expiresAt: 9)
        #expect(first.encodedHead != nil)
        #expect(first.body == token.jsonBody(expiresIn: 599, expiresAt: 9))
        #expect(again.body == first.body && again.encodedHead == first.encodedHead)
        #expect(later.body == token.jsonBody(expiresIn: 598, expiresAt: 9))
        let head = String(decoding: try #require(first.encodedHead), as: UTF8.self)
        #expect(head.contains("Cache-Control: no-store\r\n"))
        #expect(head.contains("Content-Type: application/json\r\n"))
        #expect(head.contains("Content-Length: \(first.body.count)\r\n"))
    }

    @Test func textResponseIsPreEncoded() {
        let token = IssuedToken(accessToken: Redacted("tok-1"), tokenType: "Bearer", scope: nil)
        #expect(token.textResponse.value.encodedHead != nil)
        #expect(token.textResponse.value.body == Array("tok-1".utf8))
        #expect("\(token.textResponse)".contains("tok-1") == false)
    }
}
