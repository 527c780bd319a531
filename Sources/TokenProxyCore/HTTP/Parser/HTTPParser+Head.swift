/// Start lines and field lines (RFC 9112 §2–§5).
extension HTTPParser {

    /// Finds the next CRLF-terminated line starting at `readIndex`, scanning only bytes not
    /// scanned before (eight at a time, `HTTPByteScan`). Returns the content range (without
    /// CRLF) and consumes the line, or nil when no LF has arrived yet. `limit` bounds the line
    /// including its CRLF. (Two passes, LF then CR: measured cheaper than one pass testing
    /// every word for both needles, 399 against 421 instructions per token request.)
    /// (Head field lines are found by `parseFieldLines`, which leaves out the CR pass.)
    ///
    /// `findsCarriageReturn: false` leaves the search for a CR inside the line to the caller,
    /// for lines that never parse with a CR in them: the start lines (`parseStartLine`).
    mutating func scanLine(
        limit: Int, tooLong: HTTPParseError, findsCarriageReturn: Bool = true
    ) throws(HTTPParseError) -> Range<Int>? {
        let end = buffer.count
        let start = lineScanIndex
        let lineFeed = buffer.withUnsafeBufferPointer {
            HTTPByteScan.firstIndex(of: 0x0A, in: $0, from: start, to: end)
        }
        guard lineFeed < end else {
            lineScanIndex = end
            if end - readIndex > limit { throw tooLong }
            return nil
        }
        let lineEnd = lineFeed + 1
        if lineEnd - readIndex > limit { throw tooLong }
        // RFC 9112 §2.2: bare LF and bare CR are both refused; only CRLF ends a line. The
        // content is searched for a CR once the whole line is here, so a line that arrived in
        // pieces is still scanned only twice in all, and the error is the same however the
        // bytes were split.
        guard lineFeed > readIndex, buffer[lineFeed - 1] == 0x0D else { throw .invalidLineEnding }
        let content = readIndex..<(lineFeed - 1)
        readIndex = lineEnd
        lineScanIndex = lineEnd
        guard findsCarriageReturn else { return content }
        let carriageReturn = buffer.withUnsafeBufferPointer {
            HTTPByteScan.firstIndex(
                of: 0x0D, in: $0, from: content.lowerBound, to: content.upperBound)
        }
        if carriageReturn != content.upperBound { throw .invalidLineEnding }
        return content
    }

    /// Consumes head lines; returns the head event once the empty line arrives.
    mutating func parseHead() throws(HTTPParseError) -> HTTPParserEvent? {
        while !partial.hasStartLine {
            guard try parseStartLine() else { return nil }
        }
        guard try parseFieldLines() else { return nil }
        return try completeHead()
    }

    /// Consumes one line before the head's fields: the start line, or (requests) an empty
    /// line before it. False when the line's LF has not arrived yet.
    private mutating func parseStartLine() throws(HTTPParseError) -> Bool {
        let budget = limits.maxHeadBytes - partial.bytes
        var limit = budget
        var tooLong = HTTPParseError.headTooLarge
        if mode == .request && limits.maxRequestTargetBytes + Limits.HTTP.requestLineSlack < budget
        {
            limit = limits.maxRequestTargetBytes + Limits.HTTP.requestLineSlack
            tooLong = .requestTargetTooLong
        }
        let lineStart = readIndex
        // Not searched for a CR: a start line with one never parses (a CR is no tchar, no
        // request-target byte and no reason-phrase byte), so it is looked for only when the
        // parse fails (`fieldLineError`), and the error is the same as when it was searched.
        guard
            let line = try scanLine(limit: limit, tooLong: tooLong, findsCarriageReturn: false)
        else { return false }
        partial.bytes += readIndex - lineStart
        switch mode {
        case .request:
            // RFC 9112 §2.2: ignore empty lines received before a request-line.
            if line.isEmpty { return true }
            let request = try buffer.withUnsafeBufferPointer { (bytes) throws(HTTPParseError) in
                let lineBytes = UnsafeBufferPointer(rebasing: bytes[line])
                do throws(HTTPParseError) {
                    return try parseRequestLine(lineBytes)
                } catch {
                    throw Self.fieldLineError(error, in: lineBytes)
                }
            }
            partial.method = request.method
            partial.version = request.version
            if let target = request.target {
                partial.target = target
            } else {
                partial.reusesTarget = true
            }
            partial.hasStartLine = true
        case .response:
            let status = try buffer.withUnsafeBufferPointer { (bytes) throws(HTTPParseError) in
                do throws(HTTPParseError) {
                    return try parseStatusLine(bytes[line])
                } catch {
                    throw Self.fieldLineError(error, in: UnsafeBufferPointer(rebasing: bytes[line]))
                }
            }
            partial.version = status.version
            partial.status = status.code
            partial.reason = status.reason
            partial.hasStartLine = true
        }
        return true
    }

    /// `method SP request-target SP HTTP-version` with exactly one SP between parts (§3).
    /// An ordinary line is read in one pass (`ordinaryRequestLine`); anything else goes the
    /// careful way, which tells the errors apart.
    /// A request-target with the same bytes as the recycled box's (the last head's: a client
    /// on a kept-alive connection usually asks for the same one again) is not made: the
    /// answer's `target` is nil and the box keeps its String (`PartialHead.reusesTarget`), a
    /// compare instead of building and validating one.
    private func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError)
        -> (method: String, target: String?, version: HTTPVersion)
    {
        guard let (method, target, version) = Self.ordinaryRequestLine(line, limits: limits)
        else {
            let (method, target, version) = try Self.parseUnusualRequestLine(
                line[...], limits: limits)
            return (method, target, version)
        }
        let targetBytes = UnsafeBufferPointer(rebasing: line[target])
        return (
            Self.methodString(method),
            recycledTargetEquals(targetBytes)
                ? nil : String(decoding: targetBytes, as: UTF8.self),
            version
        )
    }

    /// Whether the recycled request box holds a target of exactly `bytes` (read in place).
    @inline(__always)
    private func recycledTargetEquals(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let box = recycledRequest else { return false }
        return box.target.utf8.withContiguousStorageIfAvailable {
            HTTPByteScan.equal($0, bytes)
        } == true
    }

    /// The method and the request-target's range of a well-formed line ending in `HTTP/1.1`
    /// or `HTTP/1.0`, or nil for any other line (valid or not: the careful parse decides).
    /// The method's tchars end at the first SP; the version is the last eight bytes after an
    /// SP; between them every byte must be visible ASCII (so no third SP), eight at a time.
    @inline(__always)
    private static func ordinaryRequestLine(
        _ line: UnsafeBufferPointer<UInt8>, limits: HTTPLimits
    ) -> (
        method: UnsafeBufferPointer<UInt8>, target: Range<Int>, version: HTTPVersion
    )? {
        var methodEnd = 0
        while methodEnd < line.count && HTTPFields.isTokenByte(line[methodEnd]) { methodEnd += 1 }
        let targetStart = methodEnd + 1
        let versionStart = line.count - 8
        guard methodEnd > 0, versionStart - 1 > targetStart, line[methodEnd] == 0x20,
            line[versionStart - 1] == 0x20,
            versionStart - 1 - targetStart <= limits.maxRequestTargetBytes,
            let version = ordinaryVersion(line, at: versionStart)
        else { return nil }
        let target = targetStart..<(versionStart - 1)
        guard HTTPByteScan.allVisibleASCII(UnsafeBufferPointer(rebasing: line[target])) else {
            return nil
        }
        return (UnsafeBufferPointer(rebasing: line[..<methodEnd]), target, version)
    }

    /// `HTTP/1.1` or `HTTP/1.0` as the eight bytes at `offset`, compared as one word.
    @inline(__always)
    private static func ordinaryVersion(_ line: UnsafeBufferPointer<UInt8>, at offset: Int)
        -> HTTPVersion?
    {
        let word = UInt64(
            littleEndian: UnsafeRawPointer(line.baseAddress! + offset).loadUnaligned(
                as: UInt64.self))
        // "HTTP/1.1" little-endian: 'H' in the lowest byte.
        switch word {
        case 0x312E_312F_5054_5448: return .http1_1
        case 0x302E_312F_5054_5448: return .http1_0
        default: return nil
        }
    }

    /// The request line parsed part by part, for lines `ordinaryRequestLine` does not take:
    /// each fault gets its own error.
    private static func parseUnusualRequestLine(
        _ line: Slice<UnsafeBufferPointer<UInt8>>, limits: HTTPLimits
    ) throws(HTTPParseError) -> (method: String, target: String, version: HTTPVersion) {
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
            Self.methodString(UnsafeBufferPointer(rebasing: method)),
            String(decoding: UnsafeBufferPointer(rebasing: target), as: UTF8.self), version
        )
    }

    /// `HTTP-version SP 3DIGIT SP [reason-phrase]` (§4). A missing final SP is tolerated, as
    /// some servers omit it with an empty reason.
    private func parseStatusLine(_ line: Slice<UnsafeBufferPointer<UInt8>>) throws(HTTPParseError)
        -> (
            version: HTTPVersion, code: Int, reason: String
        )
    {
        if let (version, status, reason) = Self.ordinaryStatusLine(
            UnsafeBufferPointer(rebasing: line))
        {
            return (version, status, Self.reasonString(status, reason))
        }
        // Up to two SP split it; the reason phrase may hold more (found without an array).
        guard let firstSpace = line.firstIndex(of: 0x20) else { throw .invalidStatusLine }
        let version = try Self.parseVersion(line[..<firstSpace], malformed: .invalidStatusLine)
        let afterVersion = line[(firstSpace + 1)...]
        let secondSpace = afterVersion.firstIndex(of: 0x20)
        let code = afterVersion[..<(secondSpace ?? line.endIndex)]
        guard code.count == 3, code.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), code.first != 0x30
        else { throw .invalidStatusLine }
        let status = code.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard status >= 100 else { throw .invalidStatusLine }
        let reason = secondSpace.map { line[($0 + 1)...] } ?? line[line.endIndex...]
        guard reason.allSatisfy(HTTPFields.isValueByte) else { throw .invalidStatusLine }
        return (version, status, Self.reasonString(status, UnsafeBufferPointer(rebasing: reason)))
    }

    /// The version, status code and reason phrase of a well-formed status line of HTTP/1.1 or
    /// HTTP/1.0, read in one pass (the version as one word, the phrase's bytes eight at a
    /// time), or nil for any other line, valid or not: `parseStatusLine` decides those.
    /// Accepts exactly what the careful parse accepts: `HTTP/1.x`, SP, three digits not
    /// starting with 0, then nothing (a missing final SP) or SP and value bytes.
    @inline(__always)
    private static func ordinaryStatusLine(_ line: UnsafeBufferPointer<UInt8>) -> (
        version: HTTPVersion, status: Int, reason: UnsafeBufferPointer<UInt8>
    )? {
        guard line.count >= 12, let version = ordinaryVersion(line, at: 0), line[8] == 0x20
        else { return nil }
        let hundreds = line[9] &- 0x30
        let tens = line[10] &- 0x30
        let ones = line[11] &- 0x30
        guard hundreds >= 1 && hundreds <= 9 && tens <= 9 && ones <= 9 else { return nil }
        let status = Int(hundreds) * 100 + Int(tens) * 10 + Int(ones)
        if line.count == 12 {
            return (version, status, UnsafeBufferPointer(rebasing: line[12...]))
        }
        guard line[12] == 0x20 else { return nil }
        let reason = UnsafeBufferPointer(rebasing: line[13...])
        guard HTTPByteScan.allValueBytes(reason) else { return nil }
        return (version, status, reason)
    }

    /// The reason phrase as a `String`: the usual phrase ("OK") is the standard one, that
    /// literal, not a new String.
    private static func reasonString(_ status: Int, _ reason: UnsafeBufferPointer<UInt8>)
        -> String
    {
        var standard = HTTPResponseHead.standardReason(for: status)
        let isStandard = standard.withUTF8 { HTTPByteScan.equal($0, reason) }
        return isStandard ? standard : String(decoding: reason, as: UTF8.self)
    }

    /// The method as a `String`: a literal for the common ones (methods are case-sensitive,
    /// RFC 9110 §9.1, so only exact spellings match), a new String otherwise.
    private static func methodString(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        // A word compare (a generic `elementsEqual` here cost ~120 instructions per request).
        func equals(_ literal: StaticString) -> Bool {
            literal.withUTF8Buffer { HTTPByteScan.equal($0, bytes) }
        }
        switch bytes.count {
        case 3 where equals("GET"): return "GET"
        case 3 where equals("PUT"): return "PUT"
        case 4 where equals("POST"): return "POST"
        case 4 where equals("HEAD"): return "HEAD"
        case 6 where equals("DELETE"): return "DELETE"
        case 7 where equals("OPTIONS"): return "OPTIONS"
        case 7 where equals("CONNECT"): return "CONNECT"
        default: return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// `HTTP/DIGIT.DIGIT` (§2.3). Well-formed but not 1.0/1.1 → 505; malformed → `malformed`.
    private static func parseVersion(
        _ bytes: Slice<UnsafeBufferPointer<UInt8>>, malformed: HTTPParseError
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

    /// Parses the field line at `line` of `buffer`, notes it in `framing` and appends it to
    /// `fields` (bytes copied once, no `String`). The first field reserves room for a whole
    /// ordinary head, so the rest append without reallocating.
    static func appendFieldLine(
        _ line: Range<Int>, of buffer: [UInt8], to fields: inout HTTPFields,
        framing: inout FramingFields, maxFieldCount: Int
    ) throws(HTTPParseError) {
        try buffer.withUnsafeBufferPointer { (bytes) throws(HTTPParseError) in
            let (name, value) = try parseFieldLine(UnsafeBufferPointer(rebasing: bytes[line]))
            guard fields.count < maxFieldCount else { throw .tooManyFields }
            let known = HTTPFields.KnownName(name)
            framing.note(known, value: value)
            if fields.isEmpty {
                fields = HTTPFields(
                    reservingFields: Limits.HTTP.reservedFieldCount,
                    bytes: min(bytes.count - line.lowerBound, Limits.HTTP.reservedFieldBytes))
            }
            fields.append(name: name, value: value, known: known)
        }
    }

    /// `field-name ":" OWS field-value OWS` (§5), strictly: no obs-fold, no whitespace before
    /// the colon, token name, value without NUL/CR/LF/CTL. Returns the name and the value
    /// without OWS, as parts of `line`.
    static func parseFieldLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (
        name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>
    ) {
        guard let first = line.first else { throw fieldLineError(.invalidFieldName, in: line) }
        if first == 0x20 || first == 0x09 { throw fieldLineError(.obsoleteLineFolding, in: line) }
        // The name's tchars, up to the first byte that is none (the colon, if all is well).
        let colon = HTTPByteScan.tokenPrefixLength(line)
        if colon == line.count || line[colon] != UInt8(ascii: ":") {
            // Not a plain `token:`; tell apart what is wrong as before: no colon at all, or
            // whitespace right before it, or some other byte in the name.
            let found = HTTPByteScan.firstIndex(
                of: UInt8(ascii: ":"), in: line, from: colon, to: line.count)
            guard found < line.count else { throw fieldLineError(.invalidFieldName, in: line) }
            if found > 0 && (line[found - 1] == 0x20 || line[found - 1] == 0x09) {
                throw fieldLineError(.whitespaceBeforeColon, in: line)
            }
            throw fieldLineError(.invalidFieldName, in: line)
        }
        guard colon > 0 else { throw fieldLineError(.invalidFieldName, in: line) }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd && (line[valueStart] == 0x20 || line[valueStart] == 0x09) {
            valueStart += 1
        }
        while valueEnd > valueStart && (line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09) {
            valueEnd -= 1
        }
        let value = UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd])
        guard HTTPByteScan.allValueBytes(value) else {
            throw fieldLineError(.invalidFieldValue, in: line)
        }
        return (UnsafeBufferPointer(rebasing: line[..<colon]), value)
    }

    /// The error for head line `line` (a field line or a start line), whose parse failed with
    /// `error`: a CR anywhere in the line comes first (`.invalidLineEnding`), as when
    /// `scanLine` still searched every line for one (head lines are not searched: a line with
    /// a CR never parses, so it is looked for only here). Kept out of line: the usual line
    /// never fails.
    @inline(never)
    static func fieldLineError(_ error: HTTPParseError, in line: UnsafeBufferPointer<UInt8>)
        -> HTTPParseError
    {
        HTTPByteScan.firstIndex(of: 0x0D, in: line, from: 0, to: line.count) != line.count
            ? .invalidLineEnding : error
    }
}
