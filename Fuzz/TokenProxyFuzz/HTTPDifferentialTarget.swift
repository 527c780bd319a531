import TokenProxyCore

/// Request smuggling guard: the same bytes fed in one piece, byte by byte, and in pseudo-random
/// pieces must give the same reading — the same heads, the same body bytes, the same end or the
/// same error. A framing decision that depended on the chunking would let a front end and
/// this parser see two different requests in one stream.
enum HTTPDifferentialTarget {
    static func run(_ bytes: [UInt8]) {
        let oneShot = HTTPMessageReader.read(mode: .request, pieces: [bytes[...]])
        let byteByByte = HTTPMessageReader.read(
            mode: .request, pieces: bytes.indices.map { bytes[$0...$0] })
        precondition(oneShot == byteByByte, "one-shot and byte-by-byte readings differ")
        let random = HTTPMessageReader.read(mode: .request, pieces: randomPieces(bytes))
        precondition(oneShot == random, "one-shot and split readings differ")
        // Framing is never ambiguous: a reading is messages, then at most one error.
        for (index, entry) in oneShot.enumerated() {
            if case .failed = entry { precondition(index == oneShot.count - 1) }
        }
    }

    /// Splits at positions derived from the bytes themselves (deterministic per input, so a
    /// crash reproduces).
    static func randomPieces(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var state = UInt64(truncatingIfNeeded: bytes.count) &* 0x9E37_79B9_7F4A_7C15
        for byte in bytes.prefix(16) { state = (state ^ UInt64(byte)) &* 0x100_0000_01B3 }
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = 1 + Int(state >> 59)
            let end = min(bytes.count, start + length)
            pieces.append(bytes[start..<end])
            start = end
        }
        return pieces
    }
}
