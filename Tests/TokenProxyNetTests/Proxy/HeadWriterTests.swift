import Testing

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct HeadWriterTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func writesPiecesInOrderAndKeepsOnlyWhatWasWritten() {
        let name: [UInt8] = Array("X-Name".utf8)
        let value: [UInt8] = Array("some value".utf8)
        let bytes = HeadWriter.bytes(capacity: 200) { out in
            out.write("GET")
            out.byte(0x20)
            out.write(String(repeating: "p", count: 40))  // a heap string
            out.write(" HTTP/1.1\r\n")
            out.field("Host", "h")  // a small string
            name.withUnsafeBufferPointer { name in
                value.withUnsafeBufferPointer { out.field(name, $0) }
            }
            out.crlf()
        }
        #expect(
            text(bytes)
                == "GET \(String(repeating: "p", count: 40)) HTTP/1.1\r\nHost: h\r\nX-Name: some value\r\n\r\n"
        )
        #expect(bytes.count == text(bytes).utf8.count)
    }

    @Test func writesDecimalsLikeStringDoes() {
        for value in [0, 1, 9, 10, 99, 100, 101, 110, 128, 200, 304, 509, 990, 999, 1000, 65_535]
            + [1_000_000, Int.max]
        {
            let bytes = HeadWriter.bytes(capacity: HeadWriter.maxDecimalBytes) { $0.decimal(value) }
            #expect(text(bytes) == String(value))
        }
    }

    /// `append(to:)` writes after the bytes already there, in the array's own storage when it
    /// has room (an output queue's kept capacity: no allocation), and bounds larger than its
    /// block of zeros work too.
    @Test func appendsAfterExistingBytesInTheArraysStorage() {
        var bytes = Array("HTTP".utf8)
        bytes.reserveCapacity(512)
        let capacity = bytes.capacity
        let written = HeadWriter.append(to: &bytes, capacity: 100) { out in
            out.write("/1.1 ")
            out.decimal(204)
            out.crlf()
        }
        #expect(written == 10)
        #expect(text(bytes) == "HTTP/1.1 204\r\n")
        #expect(bytes.capacity == capacity)
        let long = String(repeating: "v", count: 10_000)
        HeadWriter.append(to: &bytes, capacity: 10_010) { $0.field("L", long) }
        #expect(text(bytes) == "HTTP/1.1 204\r\nL: \(long)\r\n")
    }

    @Test func anExactBoundIsEnoughAndNothingIsWrittenBeyondIt() {
        let bytes = HeadWriter.bytes(capacity: 7) { out in
            out.write("abc")
            out.field("", "")  // ": " CRLF
        }
        #expect(text(bytes) == "abc: \r\n")
        #expect(HeadWriter.bytes(capacity: 0) { _ in }.isEmpty)
    }

    /// Pieces of every length from 0 to 40 (byte by byte, one or two 4-byte or 8-byte words,
    /// `memmove`) land whole, in order, each right after the previous one, as strings (small
    /// and heap) and as bytes, with exact bounds.
    @Test func copiesPiecesOfEveryLengthWhole() {
        for length in 0...40 {
            let piece = String((0..<length).map { Character(UnicodeScalar(0x41 + $0 % 26)!) })
            let bytes = Array(piece.utf8)
            let written = bytes.withUnsafeBufferPointer { buffer in
                HeadWriter.bytes(capacity: 3 * length + 2) { out in
                    out.write(piece)
                    out.byte(0x7C)
                    out.write(buffer)
                    out.byte(0x7C)
                    out.write(piece)
                }
            }
            #expect(text(written) == "\(piece)|\(piece)|\(piece)", "length \(length)")
        }
    }
}
