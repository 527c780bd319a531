import Testing
import TokenProxyCore

@testable import TokenProxy
@testable import TokenProxyDev

@Suite(.timeLimit(.minutes(1)))
struct DevIssuerFormTests {
    private func parse(_ text: String) throws(DevIssuerRejection) -> DevIssuerForm {
        try DevIssuerForm.parse(Array(text.utf8))
    }

    @Test func decodesPlusAndPercentEscapes() throws {
        let form = try parse("scope=openid+read&aud=http%3A%2F%2Fx%2Fy&name=%C3%A9")
        #expect(form["scope"] == "openid read")
        #expect(form["aud"] == "http://x/y")
        #expect(form["name"] == "é")
    }

    @Test func treatsEmptyValuesAsOmitted() throws {
        let form = try parse("a=&b&c=1&&")
        #expect(form.parameters == ["c": "1"])
    }

    @Test func refusesMalformedPercentEscapes() {
        for text in ["a=%", "a=%4", "a=%zz", "a%G1=1"] {
            #expect(throws: DevIssuerRejection.self) { try parse(text) }
        }
    }

    @Test func refusesRepeatedParameters() {
        #expect(
            throws: DevIssuerRejection.invalidRequest(
                "parameter 'scope' appears more than once (RFC 6749 §3.1)")
        ) {
            try parse("scope=a&scope=b")
        }
    }

    @Test func allowsRepeatedResourceIndicators() throws {
        let form = try parse("resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb&scope=x")
        #expect(form.repeated["resource"] == ["https://a", "https://b"])
        #expect(form["scope"] == "x")
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: DevIssuerRejection.self) { try parse("a=%FF") }
    }

    @Test func recognisesTheFormContentType() {
        #expect(DevIssuerForm.isFormContentType("application/x-www-form-urlencoded"))
        #expect(DevIssuerForm.isFormContentType("Application/X-WWW-Form-URLEncoded; charset=UTF-8"))
        #expect(!DevIssuerForm.isFormContentType("application/json"))
        #expect(!DevIssuerForm.isFormContentType(nil))
    }
}
