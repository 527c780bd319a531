/// Start lines and field lines (RFC 9112 §2–§5).
extension HTTPParser {

    /// Finds the next CRLF-terminated line starting at `readIndex`, scanning only bytes not
    /// scanned before. Returns the content range (without CRLF) and consumes the line, or nil
    /// when no LF has arrived yet. `limit` bounds the line including its CRLF.
    mutating func scanLine(limit: Int, tooLong: HTTPParseError) throws(HTTPParseError) -> Range<
        Int
    >? {
        let end = buffer.count
        // One pass over raw bytes: the LF, and whether a CR sits anywhere but before it.
        let start = lineScanIndex
        let (index, strayCR) = buffer.withUnsafeBufferPointer { bytes -> (Int, Bool) in
            var index = start
            var strayCR = false
            while index < end {
                let byte = bytes[index]
                if byte == 0x0A { break }
                if byte == 0x0D && index + 1 < end && bytes[index + 1] != 0x0A { strayCR = true }
                index += 1
            }
            return (index, strayCR)
        }
        guard index < end else {
            lineScanIndex = end
            if end - readIndex > limit { throw tooLong }
            return nil
        }
        let lineEnd = index + 1
        if lineEnd - readIndex > limit { throw tooLong }
        // RFC 9112 §2.2: bare LF and bare CR are both refused; only CRLF ends a line.
        guard index > readIndex, buffer[index - 1] == 0x0D else { throw .invalidLineEnding }
        let content = readIndex..<(index - 1)
        // Bytes scanned by an earlier call (the line arrived in pieces) are checked here.
        if strayCR || buffer[readIndex..<min(start, index - 1)].contains(0x0D) {
            throw .invalidLineEnding
        }
        readIndex = lineEnd
        lineScanIndex = lineEnd
        return content
    }

    /// Consumes head lines; returns the head event once the empty line arrives.
    mutating func parseHead() throws(HTTPParseError) -> HTTPParserEvent? {
        while true {
            let budget = limits.maxHeadBytes - partial.bytes
            let isStartLine = partial.request == nil && partial.status == nil
            var limit = budget
            var tooLong = HTTPParseError.headTooLarge
            if isStartLine && mode == .request
                && limits.maxRequestTargetBytes + Limits.HTTP.requestLineSlack < budget
            {
                limit = limits.maxRequestTargetBytes + Limits.HTTP.requestLineSlack
                tooLong = .requestTargetTooLong
            }
            let lineStart = readIndex
            guard let line = try scanLine(limit: limit, tooLong: tooLong) else { return nil }
            partial.bytes += readIndex - lineStart

            if isStartLine {
                // RFC 9112 §2.2: ignore empty lines received before a request-line.
                if line.isEmpty && mode == .request { continue }
                switch mode {
                case .request: partial.request = try parseRequestLine(buffer[line])
                case .response: partial.status = try parseStatusLine(buffer[line])
                }
                continue
            }
            if line.isEmpty {
                return try completeHead()
            }
            let field = try Self.parseFieldLine(buffer[line])
            guard partial.fields.count < limits.maxFieldCount else { throw .tooManyFields }
            partial.framing.note(field)
            partial.fields.append(field.name, field.value)
        }
    }

    /// `method SP request-target SP HTTP-version` with exactly one SP between parts (§3).
    private func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (
        method: String, target: String, version: HTTPVersion
    ) {
        // Exactly two SP: three parts, none of them split further (found without an array).
        guard let firstSpace = line.firstIndex(of: 0x20),
            let secondSpace = line[(firstSpace + 1)...].firstIndex(of: 0x20),
            !line[(secondSpace + 1)...].contains(0x20)
        else { throw .invalidRequestLine }
        let method = line[..<firstSpace]
        let target = line[(firstSpace + 1)..<secondSpace]
        guard HTTPFields.isToken(method) else { throw .invalidRequestLine }
        guard target.count <= limits.maxRequestTargetBytes else { throw .requestTargetTooLong }
        guard HTTPFields.isValidRequestTarget(target) else { throw .invalidRequestLine }
        let version = try Self.parseVersion(
            line[(secondSpace + 1)...], malformed: .invalidRequestLine)
        return (
            String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self),
            version
        )
    }

    /// `HTTP-version SP 3DIGIT SP [reason-phrase]` (§4). A missing final SP is tolerated, as
    /// some servers omit it with an empty reason.
    private func parseStatusLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (
        version: HTTPVersion, code: Int, reason: String
    ) {
        let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else { throw .invalidStatusLine }
        let version = try Self.parseVersion(parts[0], malformed: .invalidStatusLine)
        let code = parts[1]
        guard code.count == 3, code.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), code.first != 0x30
        else { throw .invalidStatusLine }
        let status = code.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard status >= 100 else { throw .invalidStatusLine }
        let reason = parts.count == 3 ? parts[2] : []
        guard reason.allSatisfy(HTTPFields.isValueByte) else { throw .invalidStatusLine }
        return (version, status, String(decoding: reason, as: UTF8.self))
    }

    /// `HTTP/DIGIT.DIGIT` (§2.3). Well-formed but not 1.0/1.1 → 505; malformed → `malformed`.
    private static func parseVersion(
        _ bytes: ArraySlice<UInt8>, malformed: HTTPParseError
    ) throws(HTTPParseError) -> HTTPVersion {
        guard bytes.count == 8 else { throw malformed }
        let start = bytes.startIndex
        // "HTTP/" compared in place (an array literal here would be allocated per request).
        guard bytes[start] == 0x48, bytes[start + 1] == 0x54, bytes[start + 2] == 0x54,
            bytes[start + 3] == 0x50, bytes[start + 4] == 0x2F
        else { throw malformed }
        let major = bytes[start + 5]
        let dot = bytes[start + 6]
        let minor = bytes[start + 7]
        let isDigit = { (byte: UInt8) in byte >= 0x30 && byte <= 0x39 }
        guard isDigit(major), dot == UInt8(ascii: "."), isDigit(minor) else { throw malformed }
        let version = HTTPVersion(major: Int(major - 0x30), minor: Int(minor - 0x30))
        guard version == .http1_1 || version == .http1_0 else { throw .unsupportedVersion }
        return version
    }

    /// `field-name ":" OWS field-value OWS` (§5), strictly: no obs-fold, no whitespace before
    /// the colon, token name, value without NUL/CR/LF/CTL.
    static func parseFieldLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPFields.Field
    {
        guard let first = line.first else { throw .invalidFieldName }
        if first == 0x20 || first == 0x09 { throw .obsoleteLineFolding }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .invalidFieldName }
        let name = line[line.startIndex..<colon]
        if let last = name.last, last == 0x20 || last == 0x09 { throw .whitespaceBeforeColon }
        guard HTTPFields.isToken(name) else { throw .invalidFieldName }
        var value = line[(colon + 1)...]
        while let byte = value.first, byte == 0x20 || byte == 0x09 { value.removeFirst() }
        while let byte = value.last, byte == 0x20 || byte == 0x09 { value.removeLast() }
        guard value.allSatisfy(HTTPFields.isValueByte) else { throw .invalidFieldValue }
        return HTTPFields.Field(
            name: String(decoding: name, as: UTF8.self),
            value: String(decoding: value, as: UTF8.self))
    }
}
