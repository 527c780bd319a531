import Testing

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct JSONWebKeyTests {
    /// A JWKS whose `keys` holds a non-object is not a JWKS, as before.
    @Test func refusesAKeySetWithANonObjectMember() {
        #expect(throws: CryptoError.self) {
            try JSONWebKey.keySet(from: Array(#"{"keys":[{"kty":"oct"},"x"]}"#.utf8))
        }
        #expect(
            (try? JSONWebKey.keySet(from: Array(#"{"keys":[{"kty":"oct"}]}"#.utf8)))?.isEmpty
                == true)
    }
}
