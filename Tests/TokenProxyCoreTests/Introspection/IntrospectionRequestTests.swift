import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct IntrospectionRequestTests {
    func parse(_ body: String, _ type: String?) -> Result<
        IntrospectionRequest, IntrospectionRequest.ParseError
    > {
        IntrospectionRequest.parse(Array(body.utf8), contentType: type)
    }

    @Test func formBody() throws {
        let request = try parse(
            "token=a%2Bb+c&token_type_hint=access_token", "application/x-www-form-urlencoded"
        ).get()
        #expect(request.token.value == "a+b c")
        #expect(request.hint == "access_token")
        // No Content-Type at all: a form, as RFC 7662 §2.1 sends it.
        #expect(try parse("token=t", nil).get().token.value == "t")
    }

    @Test func jsonBody() throws {
        let request = try parse(#"{"token": "t.u.v"}"#, "application/json; charset=utf-8").get()
        #expect(request.token.value == "t.u.v")
        #expect(request.hint == nil)
    }

    @Test func refusals() {
        typealias E = IntrospectionRequest.ParseError
        #expect(throws: E.missingToken) { try parse("", nil).get() }
        #expect(throws: E.missingToken) { try parse("token=", nil).get() }
        #expect(throws: E.badForm) { try parse("token=%zz", nil).get() }
        #expect(throws: E.badForm) { try parse("token=%4", nil).get() }
        #expect(throws: E.badForm) { try parse("token=%ff", nil).get() }
        #expect(throws: E.notJSONObject) { try parse("[1]", "application/json").get() }
        #expect(throws: E.notAString("token")) {
            try parse(#"{"token": 1}"#, "application/json").get()
        }
        let long = String(repeating: "a", count: Limits.Introspection.maxTokenBytes + 1)
        #expect(throws: E.tokenTooLong) { try parse("token=" + long, nil).get() }
    }

    @Test func errorsNeverQuoteTheToken() {
        guard case .failure(let error) = parse(#"{"token": ["secret-token"]}"#, "application/json")
        else {
            Issue.record("accepted")
            return
        }
        #expect(!error.description.contains("secret-token"))
    }
}
