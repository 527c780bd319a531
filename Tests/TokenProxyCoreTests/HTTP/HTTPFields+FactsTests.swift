import Testing

@testable import TokenProxyCore

/// The facts `HTTPFields` notes as fields are appended (``HTTPFields/Facts``): which known
/// names are present and which `Connection`/`Expect` tokens they carry, kept right by every
/// way of building or changing fields, and always agreeing with a scan of the fields.
@Suite(.timeLimit(.minutes(1)))
struct HTTPFieldsFactsTests {
    /// The fields of a parsed request head with `lines` as its field lines.
    private static func parsedFields(_ lines: [String]) throws -> HTTPFields {
        let head = "GET / HTTP/1.1\r\nHost: a\r\n" + lines.map { $0 + "\r\n" }.joined() + "\r\n"
        guard case .requestHead(let request)? = try parseEvents(head).first else {
            Issue.record("no head for \(lines)")
            return HTTPFields()
        }
        return request.fields
    }

    /// `listContains` answered by a scan: every value split at commas, OWS trimmed, compared
    /// case-insensitively — what the facts must agree with.
    private static func scanned(_ fields: HTTPFields, _ name: String, _ token: String) -> Bool {
        fields.listElements(name).contains { HTTPFields.namesEqual(String($0), token) }
    }

    @Test func notesConnectionTokensAcrossLinesInAnyCaseAndListPosition() throws {
        let fields = try Self.parsedFields([
            "Connection: foo ,\tKeep-Alive", "X-Other: close", "connection: ,UPGRADE,",
        ])
        #expect(fields.facts.contains([.connection, .connectionKeepAlive, .connectionUpgrade]))
        #expect(!fields.facts.contains(.connectionClose))
        #expect(fields.listContains("Connection", token: "keep-alive"))
        #expect(fields.listContains("CONNECTION", token: "upgrade"))
        #expect(!fields.listContains("Connection", token: "close"))
        // A token the facts do not record is still found by the scan.
        #expect(fields.listContains("Connection", token: "FOO"))
    }

    @Test(arguments: [
        "close", "closed", "x-close", "close;q=1", "keep-alive-ish", "upgrade2", "", " , ",
        "Close, keep-alive", "a,b,c,upgrade", "100-continue",
    ])
    func agreeWithAScanForEveryToken(_ value: String) throws {
        let fields = try Self.parsedFields(["Connection: \(value)", "Expect: \(value)"])
        for name in ["Connection", "connection", "Expect", "Upgrade"] {
            for token in ["close", "keep-alive", "upgrade", "100-continue", "closed", "x"] {
                #expect(
                    fields.listContains(name, token: token) == Self.scanned(fields, name, token),
                    "\(name) \(token) in \(value)")
            }
        }
    }

    @Test func classifiesKnownNamesAndTokensInEveryCaseAndNoNearMiss() {
        let names: [(String, HTTPFields.KnownName)] = [
            ("host", .host), ("expect", .expect), ("upgrade", .upgrade),
            ("connection", .connection), ("content-length", .contentLength),
            ("transfer-encoding", .transferEncoding),
        ]
        let tokens: [(String, HTTPFields.KnownName, HTTPFields.Facts)] = [
            ("close", .connection, .connectionClose),
            ("keep-alive", .connection, .connectionKeepAlive),
            ("upgrade", .connection, .connectionUpgrade),
            ("100-continue", .expect, .expectContinue),
        ]
        func spellings(_ word: String) -> [[UInt8]] {
            let lower = Array(word.utf8)
            // All lower, all upper, and each single byte upper-cased.
            let upper = lower.map { $0 &- 0x61 < 26 ? $0 - 0x20 : $0 }
            return [lower, upper]
                + lower.indices.map { index in
                    var bytes = lower
                    bytes[index] = upper[index]
                    return bytes
                }
        }
        // Each byte changed by every single bit (a one-bit flip of `-` is a CR, of a letter
        // a different letter or a non-letter): never the known name or token any more.
        func nearMisses(_ word: String) -> [[UInt8]] {
            let lower = Array(word.utf8)
            return lower.indices.flatMap { index in
                (0..<8).compactMap { bit -> [UInt8]? in
                    var bytes = lower
                    bytes[index] ^= 1 << bit
                    // Flipping 0x20 of a letter is a case change, which still matches.
                    return bit == 5 && lower[index] &- 0x61 < 26 ? nil : bytes
                }
            }
        }
        for (name, known) in names {
            for bytes in spellings(name) {
                bytes.withUnsafeBufferPointer { #expect(HTTPFields.KnownName($0) == known) }
            }
            for bytes in nearMisses(name) {
                bytes.withUnsafeBufferPointer {
                    #expect(HTTPFields.KnownName($0) == nil, "\(bytes)")
                }
            }
        }
        for (token, known, fact) in tokens {
            for bytes in spellings(token) {
                bytes.withUnsafeBufferPointer {
                    #expect(HTTPFields.Facts.token($0, in: known) == fact)
                }
            }
            for bytes in nearMisses(token) {
                bytes.withUnsafeBufferPointer {
                    #expect(HTTPFields.Facts.token($0, in: known) == nil, "\(bytes)")
                }
            }
        }
    }

    @Test func notesExpectContinue() throws {
        #expect(try Self.parsedFields(["Expect: 100-Continue"]).facts.contains(.expectContinue))
        #expect(
            try Self.parsedFields(["expect: foo, 100-continue"]).facts.contains(.expectContinue))
        let other = try Self.parsedFields(["Expect: 100-continuex"])
        #expect(other.facts.contains(.expect))
        #expect(!other.facts.contains(.expectContinue))
        #expect(!other.listContains("Expect", token: "100-continue"))
    }

    @Test func recordsPresenceOfKnownNamesOnly() throws {
        let fields = try Self.parsedFields([
            "Content-Length: 0", "UPGRADE: websocket", "Hose: x", "Content-Lengtx: 1",
        ])
        #expect(fields.contains(.host))
        #expect(fields.contains(.contentLength))
        #expect(fields.contains(.upgrade))
        #expect(!fields.contains(.transferEncoding))
        #expect(!fields.contains(.connection))
        #expect(!fields.contains(.expect))
        // Absent known names answer nil without a scan; same-length names are not confused.
        #expect(fields["Transfer-Encoding"] == nil)
        #expect(fields["hose"] == "x")
        #expect(fields["content-lengtx"] == "1")
        #expect(fields["upgrade"] == "websocket")
        #expect(HTTPFields().facts.isEmpty)
    }

    @Test func followSetRemoveAndBuiltFields() {
        var fields: HTTPFields = ["Connection": "keep-alive", "Accept": "*/*"]
        #expect(fields.facts == [.connection, .connectionKeepAlive])
        fields.set("connection", "Close")
        #expect(fields.facts == [.connection, .connectionClose])
        fields.append("Transfer-Encoding", "chunked")
        #expect(fields.facts == [.connection, .connectionClose, .transferEncoding])
        fields.remove("CONNECTION")
        #expect(fields.facts == [.transferEncoding])
        #expect(!fields.listContains("Connection", token: "close"))
        fields.remove("Transfer-Encoding")
        #expect(fields.facts.isEmpty)
        #expect(fields.count == 1)
    }

    @Test(arguments: [
        ("HTTP/1.1", "", true), ("HTTP/1.1", "Connection: close", false),
        ("HTTP/1.1", "Connection: keep-alive, CLOSE", false),
        ("HTTP/1.1", "Connection: closed", true),
        ("HTTP/1.0", "", false), ("HTTP/1.0", "Connection: Keep-Alive", true),
        ("HTTP/1.0", "Connection: keep-alive\r\nConnection: close", false),
        ("HTTP/1.0", "Connection: x\r\nconnection: keep-alive", true),
    ])
    func keepAliveFromTheFacts(version: String, line: String, keepAlive: Bool) throws {
        let fieldLines = line.isEmpty ? "" : line + "\r\n"
        let head = "GET / \(version)\r\nHost: a\r\n\(fieldLines)\r\n"
        guard case .requestHead(let request)? = try parseEvents(head).first else {
            Issue.record("no head")
            return
        }
        #expect(request.keepAlive == keepAlive)
    }

    /// The index of the first field at or after `start` called `name`, by a scan of every
    /// field: what the header's first-record offsets must agree with.
    private static func scannedIndex(
        _ fields: HTTPFields, _ name: String, from start: HTTPFields.Index
    ) -> HTTPFields.Index? {
        fields.indices.first { $0 >= start && fields.nameEquals(at: $0, name) }
    }

    @Test(arguments: [
        ["X-A: 1", "content-length: 3", "X-B: 2"], ["Content-Length: 0"], ["X-A: 1"], [],
    ])
    func firstHostAndContentLengthAgreeWithAScan(_ lines: [String]) throws {
        let parsed = try Self.parsedFields(lines)
        // The same fields appended one by one: byte for byte the parser's storage.
        var built = HTTPFields()
        for index in parsed.indices {
            built.append(parsed.name(at: index), parsed.value(at: index))
        }
        #expect(built.storage == parsed.storage)
        var removed = parsed
        removed.remove("Host")
        var replaced = parsed
        replaced.set("content-length", "9")
        var prepended = HTTPFields([("Content-Length", "1")])
        for index in parsed.indices {
            prepended.append(parsed.name(at: index), parsed.value(at: index))
        }
        // Duplicates (which a parsed request refuses for these names) after the first.
        var appended = parsed
        appended.append("HOST", "z")
        appended.append("X-C", "3")
        appended.append("Content-length", "3")
        for fields in [parsed, built, removed, replaced, prepended, appended] {
            for name in ["Host", "host", "Content-Length", "CONTENT-LENGTH", "X-A"] {
                for start in Array(fields.indices) + [fields.endIndex] {
                    #expect(
                        fields.firstIndex(named: name, from: start)
                            == Self.scannedIndex(fields, name, from: start), "\(name) in \(fields)")
                }
                #expect(
                    fields.firstIndex(named: name)
                        == Self.scannedIndex(fields, name, from: fields.startIndex))
            }
            // The lookup by known name (the header's slot) finds the same first field.
            #expect(
                fields.firstIndex(.host)
                    == Self.scannedIndex(fields, "Host", from: fields.startIndex), "\(fields)")
            #expect(
                fields.firstIndex(.contentLength)
                    == Self.scannedIndex(fields, "Content-Length", from: fields.startIndex),
                "\(fields)")
        }
    }

    @Test func lookupByKnownNameOfEmptyFieldsFindsNothing() {
        #expect(HTTPFields().firstIndex(.host) == nil)
        #expect(HTTPFields().firstIndex(.contentLength) == nil)
        #expect(HTTPFields([("Host", "a")]).firstIndex(.contentLength) == nil)
    }
}
