import TokenProxyCore

/// Reads everything an `HTTPParser` makes of some bytes, fed in the given pieces, as a
/// comparable transcript: body slices are joined, so only the reading (not the chunking) shows.
/// Also checks the event grammar every caller relies on: head, bodies, end — never a body
/// outside a message, never an event after an error. For requests, an independent oracle checks
/// the framing decision (RFC 9112 §6.3): an accepted head never carries both Content-Length and
/// Transfer-Encoding, and a Content-Length message ends after exactly that many body bytes.
struct HTTPMessageReader {
    enum Entry: Equatable {
        case head(String)
        case interim(Int)
        case body([UInt8])
        case end(trailerCount: Int)
        case failed(HTTPParseError)
        case tunnel(remaining: Int)
    }

    /// The transcript of `pieces` fed one after the other, then the end of the stream.
    static func read(
        mode: HTTPParser.Mode, pieces: [ArraySlice<UInt8>], methods: [String] = [],
        limits: HTTPLimits = HTTPLimits()
    ) -> [Entry] {
        var parser = HTTPParser(mode: mode, limits: limits)
        for method in methods { parser.expectResponse(toMethod: method) }
        var entries: [Entry] = []
        var inMessage = false
        var declaredLength: Int?
        var bodyBytes = 0
        func drain(_ parser: inout HTTPParser) -> Bool {
            do {
                while let event = try parser.next() {
                    switch event {
                    case .requestHead(let head):
                        precondition(!inMessage, "request head inside a message")
                        inMessage = true
                        let lengths = head.fields.values("Content-Length")
                        precondition(
                            lengths.isEmpty || !head.fields.contains("Transfer-Encoding"),
                            "request accepted with Content-Length and Transfer-Encoding")
                        declaredLength = lengths.first.flatMap { Int($0) }
                        bodyBytes = 0
                        entries.append(.head("\(head.method) \(head.target) \(head.fields)"))
                    case .responseHead(let head):
                        precondition(!inMessage, "response head inside a message")
                        inMessage = true
                        entries.append(.head("\(head.status) \(head.fields)"))
                    case .informationalResponse(let head):
                        precondition(!inMessage, "interim response inside a message")
                        entries.append(.interim(head.status))
                    case .body(let slice):
                        precondition(inMessage, "body outside a message")
                        precondition(!slice.isEmpty, "empty body event")
                        bodyBytes += slice.count
                        if case .body(let previous) = entries.last {
                            entries[entries.count - 1] = .body(previous + slice)
                        } else {
                            entries.append(.body(Array(slice)))
                        }
                    case .end(let trailers):
                        precondition(inMessage, "end outside a message")
                        inMessage = false
                        if let declared = declaredLength {
                            precondition(
                                bodyBytes == declared,
                                "Content-Length \(declared) but \(bodyBytes) body bytes")
                        }
                        declaredLength = nil
                        entries.append(.end(trailerCount: trailers.count))
                    }
                }
            } catch {
                entries.append(.failed(error))
                // Once failed, the parser must keep failing with the same error.
                do {
                    _ = try parser.next()
                    preconditionFailure("parser recovered after \(error)")
                } catch let again {
                    precondition(again == error, "error changed from \(error) to \(again)")
                }
                return false
            }
            return true
        }
        for piece in pieces {
            parser.feed(piece)
            guard drain(&parser) else { return entries }
            if parser.isTunnel { break }
        }
        if parser.isTunnel {
            entries.append(.tunnel(remaining: parser.takeRemainingBytes().count))
            return entries
        }
        parser.feedEndOfStream()
        _ = drain(&parser)
        return entries
    }
}
