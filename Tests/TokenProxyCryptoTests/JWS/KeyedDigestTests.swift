import Testing

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct KeyedDigestTests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map {
            String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16)
        }
        .joined()
    }

    @Test func rfc4231TestCase2() {
        let digest = KeyedDigest(key: Array("Jefe".utf8))
        #expect(
            Self.hex(digest.mac(Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func rfc4231TestCase1() {
        let digest = KeyedDigest(key: [UInt8](repeating: 0x0b, count: 20))
        #expect(
            Self.hex(digest.mac(Array("Hi There".utf8)))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    @Test func partsAreFramedAndKeysDiffer() {
        let digest = KeyedDigest()
        #expect(digest.digest(["ab", "c"]) != digest.digest(["a", "bc"]))
        #expect(digest.digest(["api", "t"]) == digest.digest(["api", "t"]))
        #expect(KeyedDigest().digest(["api", "t"]) != digest.digest(["api", "t"]))
        #expect(digest.digest(["api", "t"]).count == 32)
    }
}
