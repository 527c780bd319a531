/// The chunked transfer coding (RFC 9112 §7.1).
extension HTTPParser {
    /// Parses `chunk-size [ chunk-ext ] CRLF`. Returns false when the line is incomplete.
    mutating func parseChunkSize() throws(HTTPParseError) -> Bool {
        guard
            let line = try scanLine(
                limit: limits.maxChunkSizeLineBytes + 2, tooLong: .chunkSizeLineTooLong)
        else { return false }
        let size = try Self.chunkSize(buffer[line])
        if size == 0 {
            state = .trailers
            return true
        }
        let (total, overflow) = chunkedBodyBytes.addingReportingOverflow(size)
        guard !overflow, total <= limits.maxBodyBytes else { throw .bodyTooLarge }
        chunkedBodyBytes = total
        state = .chunkData(remaining: size)
        return true
    }

    /// The size of `1*HEXDIG *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] )`.
    /// Extensions are skipped (we define none) but must not contain control characters.
    static func chunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = ASCIIHex.value(line[index]).map(Int.init) {
            // 60 bits of size is an exabyte: anything beyond is an attack, not a body.
            guard size < (1 << 59) else { throw .invalidChunkSize }
            size = size << 4 | digit
            index += 1
        }
        guard index > line.startIndex else { throw .invalidChunkSize }
        var rest = line[index...]
        while let byte = rest.first, byte == 0x20 || byte == 0x09 { rest.removeFirst() }
        guard !rest.isEmpty else {
            // Whitespace after the size is only allowed as BWS before an extension.
            guard index == line.endIndex else { throw .invalidChunkSize }
            return size
        }
        guard rest.first == UInt8(ascii: ";"), rest.allSatisfy(HTTPFields.isValueByte) else {
            throw .invalidChunkSize
        }
        return size
    }

    /// Consumes the CRLF after chunk data. Returns false when it has not fully arrived.
    mutating func parseChunkDataEnd() throws(HTTPParseError) -> Bool {
        let available = buffer.count - readIndex
        if available >= 1 && buffer[readIndex] != 0x0D { throw .missingChunkTerminator }
        guard available >= 2 else { return false }
        guard buffer[readIndex + 1] == 0x0A else { throw .missingChunkTerminator }
        readIndex += 2
        lineScanIndex = readIndex
        state = .chunkSize
        return true
    }

    /// Consumes one trailer line (§7.1.2); the empty line ends the message. Returns false when
    /// the line is incomplete.
    mutating func parseTrailerLine() throws(HTTPParseError) -> Bool {
        let lineStart = readIndex
        guard
            let line = try scanLine(
                limit: limits.maxTrailerBytes - trailerBytes, tooLong: .trailersTooLarge)
        else { return false }
        trailerBytes += readIndex - lineStart
        if line.isEmpty {
            state = .messageEnd
            return true
        }
        // Trailers never decide framing (§6.5): what is noted is dropped.
        var ignored = FramingFields()
        try Self.appendFieldLine(
            line, of: buffer, to: &trailerFields, framing: &ignored,
            maxFieldCount: limits.maxFieldCount)
        return true
    }
}
