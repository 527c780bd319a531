import Testing

@testable import TokenProxyCrypto

/// OpenSSL's secure heap, as `serve` turns it on: private keys' secret numbers are allocated
/// there (locked, out of core dumps), not on the ordinary heap.
@Suite(.timeLimit(.minutes(1)))
struct OpenSSLRuntimeTests {
    @Test func privateKeysLandInTheSecureHeap() throws {
        let heap = OpenSSLRuntime.enableSecureHeap(bytes: 256 * 1024, minimum: 32)
        try #require(heap != .unavailable)
        let before = OpenSSLRuntime.secureHeapUsed
        let rsa = try PrivateKey.fromPEM(Array(TestKeys.rsa2048PKCS1.utf8), origin: "test")
        let ec = try PrivateKey.fromPEM(Array(TestKeys.ecP256SEC1.utf8), origin: "test")
        #expect(OpenSSLRuntime.secureHeapUsed > before)
        withExtendedLifetime((rsa, ec)) {}
    }
}
