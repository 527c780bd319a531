/// Message body length (RFC 9112 §6): decided once per head, strictly, because a proxy and its
/// upstream disagreeing about where a message ends is how request smuggling works.
extension HTTPParser {
    /// Validates framing fields, picks the body state and returns the head event.
    ///
    /// The head's fields are read only when the framing needs them (`startPlainBody` decides
    /// the usual heads from `framing` alone): reading them around a call that mutates the
    /// parser, which holds the same box, costs a retain and a release of the fields.
    mutating func completeHead() throws(HTTPParseError) -> HTTPParserEvent {
        let framing = partial.framing
        if mode == .request {
            let head = takeRequestHead()
            try Self.validateHost(framing, version: head.version)
            if framing.hasTransferEncoding && head.version == .http1_0 {
                // §6.1: TE in an HTTP/1.0 message means framing is faulty.
                throw .invalidTransferEncoding
            }
            if !startPlainBody(framing: framing, isRequest: true) {
                try startBody(fields: head.fields, framing: framing, isRequest: true)
            }
            return .requestHead(head)
        }
        let head = takeResponseHead()
        let status = head.status
        if head.isInformational && status != 101 {
            // §4 / RFC 9110 §15.2: interim; the final response for the same request follows.
            resetPartialHead()
            return .informationalResponse(head)
        }
        let method = takePendingMethod()
        if status == 101 || (method == .connect && (200..<300).contains(status)) {
            // The connection stops being HTTP after this head; what follows is the tunnel's.
            tunnelAfterMessage = true
            state = .messageEnd
            return .responseHead(head)
        }
        if method == .head || status == 204 || status == 304 {
            state = .messageEnd
            return .responseHead(head)
        }
        if !startPlainBody(framing: framing, isRequest: false) {
            try startBody(fields: head.fields, framing: framing, isRequest: false)
        }
        return .responseHead(head)
    }

    /// RFC 9112 §3.2: exactly one Host in HTTP/1.1 requests, at most one in HTTP/1.0, holding
    /// one authority (no list, no whitespace, no userinfo or path characters). The parser
    /// noted the Host lines as they arrived (`FramingFields`).
    private static func validateHost(
        _ framing: FramingFields, version: HTTPVersion
    ) throws(HTTPParseError) {
        guard framing.hostCount <= 1 else { throw .invalidHost }
        guard framing.hostCount == 1 else {
            if version == .http1_1 { throw .missingHost }
            return
        }
        if framing.hostIsMalformed { throw .invalidHost }
    }

    /// Picks the body state of a head that has no `Transfer-Encoding` and at most one plain
    /// `Content-Length` no larger than the limit, from `framing` alone; false for any other
    /// head (`startBody` decides those, and throws the errors). Apart from `startBody` on
    /// purpose: folded into it, with the fields passed as a closure called only when needed,
    /// the proxy cost ~1,000 more instructions per request (callgrind, measured).
    @inline(__always)
    private mutating func startPlainBody(framing: FramingFields, isRequest: Bool) -> Bool {
        guard !framing.hasTransferEncoding else { return false }
        guard framing.hasContentLength else {
            // §6.3: no framing fields means no body for requests, read-until-close for responses.
            state = isRequest ? .messageEnd : .untilClose
            return true
        }
        guard framing.contentLengthCount == 1, let length = framing.plainContentLength,
            length <= limits.maxBodyBytes
        else { return false }
        state = length == 0 ? .messageEnd : .fixedBody(remaining: length)
        return true
    }

    private mutating func startBody(
        fields: HTTPFields, framing: FramingFields, isRequest: Bool
    ) throws(HTTPParseError) {
        // Most requests carry neither field: nothing is looked up for them (the parser noted
        // which are present), and a length is read from the bytes, with no Strings.
        if framing.hasTransferEncoding {
            if framing.hasContentLength { throw .contentLengthWithTransferEncoding }
            try Self.requireChunkedOnly(fields.values("Transfer-Encoding"))
            state = .chunkSize
            return
        }
        guard framing.hasContentLength else {
            // §6.3: no framing fields means no body for requests, read-until-close for responses.
            state = isRequest ? .messageEnd : .untilClose
            return
        }
        // One plain value (the usual case) was read as its line arrived; any other
        // case is read and judged from the fields.
        let length: Int
        if framing.contentLengthCount == 1, let plain = framing.plainContentLength {
            length = plain
        } else {
            length = try Self.contentLength(in: fields, isRequest: isRequest)
        }
        guard length <= limits.maxBodyBytes else { throw .bodyTooLarge }
        state = length == 0 ? .messageEnd : .fixedBody(remaining: length)
    }

    /// Accepts only a Transfer-Encoding list that is exactly `chunked` (RFC 9112 §6.1, §7).
    /// We implement no other coding; anything else is 501 (unknown) or 400 (chunked misplaced
    /// or repeated, which would leave the length undetermined).
    private static func requireChunkedOnly(_ values: [String]) throws(HTTPParseError) {
        let codings = values.flatMap { value in
            value.split(separator: ",").map { $0.trimmingOWS() }
        }
        guard !codings.isEmpty, codings.allSatisfy({ !$0.isEmpty }) else {
            throw .invalidTransferEncoding
        }
        let isChunked = { (coding: Substring) in HTTPFields.namesEqual(String(coding), "chunked") }
        let chunkedCount = codings.count(where: isChunked)
        if codings.contains(where: { !isChunked($0) }) {
            // A coding with parameters such as `chunked;x=1` lands here too: not something we
            // can decode.
            throw chunkedCount > 0 && !isChunked(codings.last!)
                ? .invalidTransferEncoding
                : .unsupportedTransferEncoding
        }
        guard chunkedCount == 1 else { throw .invalidTransferEncoding }
    }

    /// The body length from every Content-Length field value.
    ///
    /// RFC 9110 §8.6 lets a recipient accept a list of identical values (`5, 5` or two fields
    /// both `5`). We do so only for responses, where old intermediaries produce it; requests
    /// with more than one value are refused, since a front end and a back end that resolve
    /// duplicates differently is a request-smuggling vector, and no sane client sends them.
    static func contentLength(
        in fields: HTTPFields, isRequest: Bool
    ) throws(HTTPParseError) -> Int {
        var result: Int?
        var next = fields.firstIndex(named: "Content-Length")
        if isRequest, let first = next {
            // More than one value in any form is refused before any is read.
            let isList = fields.withValueBytes(at: first) { $0.contains(UInt8(ascii: ",")) }
            if isList
                || fields.firstIndex(named: "Content-Length", from: fields.index(after: first))
                    != nil
            {
                throw .multipleContentLength
            }
        }
        while let index = next {
            try fields.withValueBytes(at: index) { (value) throws(HTTPParseError) in
                // Each comma-separated element, empty ones included (`5,` is malformed).
                var start = 0
                while start <= value.count {
                    var end = start
                    while end < value.count && value[end] != UInt8(ascii: ",") { end += 1 }
                    var first = start
                    var last = end
                    if !isRequest {
                        while first < last && (value[first] == 0x20 || value[first] == 0x09) {
                            first += 1
                        }
                        while last > first && (value[last - 1] == 0x20 || value[last - 1] == 0x09) {
                            last -= 1
                        }
                    }
                    guard
                        let length = FramingFields.plainDecimal(
                            UnsafeBufferPointer(rebasing: value[first..<last]))
                    else { throw .invalidContentLength }
                    if let result, result != length { throw .multipleContentLength }
                    result = length
                    start = end + 1
                }
            }
            next = fields.firstIndex(named: "Content-Length", from: fields.index(after: index))
        }
        guard let result else { throw .invalidContentLength }
        return result
    }
}
