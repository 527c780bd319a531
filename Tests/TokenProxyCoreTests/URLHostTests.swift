import Foundation
import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct URLHostTests {
    /// The getters `URLHost` stands in for are the reference: every form of host the
    /// configuration and the HTTP client meet must come out the same.
    @Test(arguments: [
        "https://idp.example.com", "https://Idp.Example.COM:8443/x?q=1", "http://127.0.0.1:9",
        "http://[::1]:8080/x", "http://[fe80::1%25eth0]/", "http://LOCALHOST/",
        "http://%6Cocalhost/", "https://a%20b.example/", "https://user:pw@idp.example.com/",
        "https://:443/", "https:///x", "urn:example:x",
    ])
    func matchesURLComponents(_ text: String) throws {
        let components = try #require(URLComponents(string: text))
        let emptyAsNil: (String?) -> String? = { $0?.isEmpty == true ? nil : $0 }
        #expect(emptyAsNil(URLHost.decoded(components)) == emptyAsNil(components.host))
        #expect(
            emptyAsNil(URLHost.percentEncoded(components))
                == emptyAsNil(components.percentEncodedHost))
    }

    /// The one deliberate difference: with full Foundation linked, `URLComponents` turns an
    /// IDNA (punycode) host into Unicode (`bücher.example`, percent-encoded in
    /// `percentEncodedHost`), which getaddrinfo cannot resolve and a Host header may not carry.
    /// `URLHost` keeps the ASCII form as written, which is what DNS and HTTP need.
    @Test func keepsPunycodeHostsASCII() throws {
        let components = try #require(URLComponents(string: "https://xn--bcher-kva.example/x"))
        #expect(URLHost.decoded(components) == "xn--bcher-kva.example")
        #expect(URLHost.percentEncoded(components) == "xn--bcher-kva.example")
    }

    @Test func keepsBracketsAroundIPv6Literals() throws {
        let components = try #require(URLComponents(string: "http://[::1]:8080/"))
        #expect(URLHost.decoded(components) == "[::1]")
        #expect(URLHost.percentEncoded(components) == "[::1]")
    }
}
