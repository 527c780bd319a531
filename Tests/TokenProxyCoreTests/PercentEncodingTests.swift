import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct PercentEncodingTests {
    @Test func decodesEscapes() {
        #expect(PercentEncoding.decode("a%20b%2Fc") == "a b/c")
        #expect(PercentEncoding.decode("fe80::1%25eth0") == "fe80::1%eth0")
        #expect(PercentEncoding.decode("gr%C3%BC%C3%9F") == "grüß")
        #expect(PercentEncoding.decode("a+b") == "a+b")
        #expect(PercentEncoding.decode(Array("a+b".utf8), plusAsSpace: true) == "a b")
    }

    /// nil, as `removingPercentEncoding` answered, for a broken escape or bytes that are not UTF-8.
    @Test func refusesMalformedEscapes() {
        for text in ["%", "%2", "%zz", "a%4", "%FF"] {
            #expect(PercentEncoding.decode(text) == nil, "\(text)")
        }
    }
}
