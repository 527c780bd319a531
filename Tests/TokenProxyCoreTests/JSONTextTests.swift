import Foundation
import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct JSONTextTests {
    @Test func plainASCIIIsQuotedUnchanged() {
        #expect(JSONText.string("eyJhbGciOi.abc_-") == "\"eyJhbGciOi.abc_-\"")
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(
            JSONText.string("a\"b\\c\nd\re\tf\u{08}g\u{0C}h\u{01}")
                == #""a\"b\\c\nd\re\tf\bg\fh\u0001""#)
    }

    @Test func keepsNonASCIIAsUTF8() {
        #expect(JSONText.string("grüß 🔑") == "\"grüß 🔑\"")
    }

    @Test func byteAndStringEscapersAgree() throws {
        let samples = ["", "x", "a\"\\\n\u{1F}ü", "-----BEGIN PRIVATE KEY-----\nMIIB\n"]
        for sample in samples {
            var bytes: [UInt8] = []
            JSONText.appendString(utf8: Array(sample.utf8), to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == JSONText.string(sample))
            // An independent JSON reader reads back what was written.
            let decoded = try JSONSerialization.jsonObject(
                with: Data(bytes), options: [.fragmentsAllowed])
            #expect(decoded as? String == sample)
        }
    }

    @Test func hexDigitsRoundTrip() {
        for byte in UInt8.min...UInt8.max {
            let digits = ASCIIHex.digits(byte)
            #expect(ASCIIHex.value(digits.high)! << 4 | ASCIIHex.value(digits.low)! == byte)
        }
        #expect(ASCIIHex.value(UInt8(ascii: "F")) == 15)
        #expect(ASCIIHex.value(UInt8(ascii: "g")) == nil)
        #expect(ASCIIHex.value(UInt8(ascii: "+")) == nil)
    }
}
