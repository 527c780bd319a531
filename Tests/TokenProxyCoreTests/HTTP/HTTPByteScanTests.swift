import Testing

@testable import TokenProxyCore

/// The word-at-a-time scans against the obvious byte loop, at every alignment and length
/// around a word, so a wrong mask or an off-by-one at a word boundary shows.
@Suite(.timeLimit(.minutes(1)))
struct HTTPByteScanTests {
    @Test func findsTheFirstNeedleAtEveryPositionAndWindow() {
        for length in 0...40 {
            for position in 0...length {
                // Needle at `position` (none when it equals `length`), a second one later, and
                // bytes that differ from it by one bit around it (0x0B, 0x08 for LF 0x0A).
                var bytes = (0..<length).map { UInt8(truncatingIfNeeded: 0x0B + ($0 % 3) * 0x7D) }
                if position < length { bytes[position] = 0x0A }
                if position + 3 < length { bytes[position + 3] = 0x0A }
                bytes.withUnsafeBufferPointer { buffer in
                    for start in 0...min(length, 10) {
                        for end in start...length {
                            let expected = (start..<end).first { bytes[$0] == 0x0A } ?? end
                            let found = HTTPByteScan.firstIndex(
                                of: 0x0A, in: buffer, from: start, to: end)
                            #expect(found == expected, "length \(length), \(start)..<\(end)")
                        }
                    }
                }
            }
        }
    }

    @Test func findsBytesWhoseNeighboursBorrow() {
        // 0x00 and 0x01 bytes before the needle make the subtraction borrow: the first marked
        // byte must still be the needle, not one after it.
        let bytes: [UInt8] = [0x01, 0x00, 0x0D, 0x0E, 0x0D, 0x00, 0x00, 0x00, 0x0D]
        bytes.withUnsafeBufferPointer { buffer in
            #expect(HTTPByteScan.firstIndex(of: 0x0D, in: buffer, from: 0, to: 9) == 2)
            #expect(HTTPByteScan.firstIndex(of: 0x0D, in: buffer, from: 3, to: 9) == 4)
            #expect(HTTPByteScan.firstIndex(of: 0x00, in: buffer, from: 2, to: 9) == 5)
            #expect(HTTPByteScan.firstIndex(of: 0x0D, in: buffer, from: 5, to: 8) == 8)
        }
    }

    @Test func checksVisibleASCIIAndEqualityLikeTheByteRules() {
        // Each byte value at each position of strings up to two words and a tail long.
        for length in 1...19 {
            for position in 0..<length {
                for byte in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "/"), count: length)
                    let other = bytes
                    bytes[position] = UInt8(byte)
                    let visible = bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F }
                    bytes.withUnsafeBufferPointer { buffer in
                        #expect(HTTPByteScan.allVisibleASCII(buffer) == visible)
                        other.withUnsafeBufferPointer { otherBuffer in
                            #expect(HTTPByteScan.equal(buffer, otherBuffer) == (bytes == other))
                            #expect(
                                !HTTPByteScan.equal(
                                    buffer, UnsafeBufferPointer(rebasing: otherBuffer.dropLast())))
                        }
                    }
                }
            }
        }
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        #expect(HTTPByteScan.allVisibleASCII(empty))
        #expect(HTTPByteScan.equal(empty, empty))
    }

    @Test func checksValueBytesLikeTheByteRule() {
        // Each byte value at each position of values up to two words and a tail long.
        for length in 1...19 {
            for position in 0..<length {
                for byte in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "v"), count: length)
                    bytes[position] = UInt8(byte)
                    let expected = bytes.allSatisfy(HTTPFields.isValueByte)
                    bytes.withUnsafeBufferPointer { buffer in
                        #expect(HTTPByteScan.allValueBytes(buffer) == expected)
                    }
                }
            }
        }
        #expect(HTTPByteScan.allValueBytes(UnsafeBufferPointer(start: nil, count: 0)))
    }

    @Test func tokenBytesAreExactlyTheTchars() {
        let tchars = Set("!#$%&'*+-.^_`|~".utf8)
            .union(UInt8(ascii: "0")...UInt8(ascii: "9"))
            .union(UInt8(ascii: "a")...UInt8(ascii: "z"))
            .union(UInt8(ascii: "A")...UInt8(ascii: "Z"))
        for byte in 0...255 {
            #expect(HTTPFields.isTokenByte(UInt8(byte)) == tchars.contains(UInt8(byte)), "\(byte)")
        }
    }

    @Test func tokenPrefixEndsAtTheFirstNonTcharLikeTheByteLoop() {
        // Each byte value at each position of names up to two words and a tail long, among
        // letters of both cases, digits and dashes (the word test's fast classes), so a wrong
        // range bound, a carry into the next byte or a missed high byte shows.
        let filler = Array("aZ0-z9A-".utf8)
        for length in 1...19 {
            for position in 0..<length {
                for byte in 0...255 {
                    var bytes = (0..<length).map { filler[$0 % filler.count] }
                    bytes[position] = UInt8(byte)
                    let expected = bytes.firstIndex { !HTTPFields.isTokenByte($0) } ?? length
                    bytes.withUnsafeBufferPointer { buffer in
                        #expect(
                            HTTPByteScan.tokenPrefixLength(buffer) == expected,
                            "byte \(byte) at \(position) of \(length)")
                    }
                }
            }
        }
        // Two odd bytes in one word: the first one decides.
        let pair = Array("Ab_d:fgh:jk".utf8)
        pair.withUnsafeBufferPointer { #expect(HTTPByteScan.tokenPrefixLength($0) == 4) }
        #expect(HTTPByteScan.tokenPrefixLength(UnsafeBufferPointer(start: nil, count: 0)) == 0)
    }
}
