import TokenProxyCore

/// Drives an `HTTPParser` over `input` cut into pieces of `pieceSize` bytes (or at `splits`),
/// collecting every event, with adjacent body events merged so that results compare equal
/// whatever the split.
func parseEvents(
    _ input: String, mode: HTTPParser.Mode = .request, methods: [String] = [],
    limits: HTTPLimits = HTTPLimits(), splits: [Int] = [], endOfStream: Bool = false
) throws(HTTPParseError) -> [HTTPParserEvent] {
    try parseEvents(
        Array(input.utf8), mode: mode, methods: methods, limits: limits, splits: splits,
        endOfStream: endOfStream)
}

func parseEvents(
    _ input: [UInt8], mode: HTTPParser.Mode = .request, methods: [String] = [],
    limits: HTTPLimits = HTTPLimits(), splits: [Int] = [], endOfStream: Bool = false
) throws(HTTPParseError) -> [HTTPParserEvent] {
    var parser = HTTPParser(mode: mode, limits: limits)
    for method in methods { parser.expectResponse(toMethod: method) }
    var events: [HTTPParserEvent] = []
    var start = 0
    for cut in splits + [input.count] where cut >= start {
        parser.feed(input[start..<cut])
        start = cut
        while let event = try parser.next() { append(event, to: &events) }
    }
    if endOfStream {
        parser.feedEndOfStream()
        while let event = try parser.next() { append(event, to: &events) }
    }
    return events
}

/// The error `input` is rejected with, or nil when it parses.
func parseError(
    _ input: String, mode: HTTPParser.Mode = .request, methods: [String] = [],
    limits: HTTPLimits = HTTPLimits(), endOfStream: Bool = false
) -> HTTPParseError? {
    do {
        _ = try parseEvents(
            input, mode: mode, methods: methods, limits: limits, endOfStream: endOfStream)
        return nil
    } catch {
        return error
    }
}

/// The body bytes of `events` as a string.
func bodyString(_ events: [HTTPParserEvent]) -> String {
    var bytes: [UInt8] = []
    for case .body(let slice) in events { bytes += slice }
    return String(decoding: bytes, as: UTF8.self)
}

private func append(_ event: HTTPParserEvent, to events: inout [HTTPParserEvent]) {
    if case .body(let more) = event, case .body(let previous)? = events.last {
        events[events.count - 1] = .body(ArraySlice(Array(previous) + Array(more)))
    } else {
        events.append(event)
    }
}
