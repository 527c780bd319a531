import Testing
import TokenProxyCore

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct OpenSSLErrorStackTests {
    @Test func anEmptyQueueDrainsToTheOneFallbackText() {
        OpenSSLErrorStack.clear()
        let stack = OpenSSLErrorStack.drain()
        #expect(stack.isEmpty)
        #expect(stack.description == "no detail from OpenSSL")
    }

    @Test func drainsTheWholeQueueButKeepsAtMostSixteenEntries() {
        var remaining: [UInt] = Array(1...40)
        var calls = 0
        let stack = OpenSSLErrorStack.drain {
            calls += 1
            return remaining.isEmpty ? 0 : remaining.removeFirst()
        }
        #expect(calls == 41)
        #expect(stack.entries.count == Limits.OpenSSL.maxErrorEntries)
        #expect(stack.entries.map(\.code) == Array(1...16))
        #expect(stack.description.hasPrefix("error:00000001:"))
        #expect(stack.description.components(separatedBy: "; ").count == 16)
    }

    @Test func aFailedParseLeavesNothingOnTheQueue() {
        OpenSSLErrorStack.clear()
        let failed = try? PrivateKey.fromPEM(
            Array("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n".utf8),
            origin: "a throwaway test key")
        #expect(failed == nil)
        #expect(OpenSSLErrorStack.queueIsEmpty)
    }

    @Test func keyErrorsCarryTheDrainedStack() {
        let error = CryptoError.openSSL(
            operation: "sign with RS256",
            errors: OpenSSLErrorStack(entries: [.init(code: 1, text: "error:1:first")]))
        #expect(error.description == "OpenSSL failed to sign with RS256: error:1:first")
    }
}
