import Testing

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct SecureRandomTests {
    @Test func returnsTheRequestedNumberOfDistinctBytes() {
        #expect(SecureRandom.bytes(0).isEmpty)
        let a = SecureRandom.bytes(32)
        let b = SecureRandom.bytes(32)
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)
    }
}
