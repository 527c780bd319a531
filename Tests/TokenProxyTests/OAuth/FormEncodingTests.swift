import Testing

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct FormEncodingTests {
    @Test func encodesLikeBrowsersAndOAuthServersExpect() {
        let body = FormEncoding.encode([
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("scope", "openid urn:zitadel:iam:org:project:id:69234237810729019:aud"),
            ("x", "a+b&c=d/é"),
        ])
        #expect(
            String(decoding: body, as: UTF8.self)
                == "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
                + "&scope=openid+urn%3Azitadel%3Aiam%3Aorg%3Aproject%3Aid%3A69234237810729019%3Aaud"
                + "&x=a%2Bb%26c%3Dd%2F%C3%A9")
    }

    @Test func keepsJWSCharactersAsTheyAre() {
        let jws = "eyJhbGci.eyJpc3Mi-_.c2ln"
        #expect(
            String(decoding: FormEncoding.encode([("assertion", jws)]), as: UTF8.self)
                == "assertion=\(jws)")
    }
}
