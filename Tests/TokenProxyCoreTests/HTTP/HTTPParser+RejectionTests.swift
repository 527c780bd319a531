import Testing
import TokenProxyCore

/// Every request the parser must refuse, with the status a server answers.
@Suite(.timeLimit(.minutes(1)))
struct HTTPParserRejectionTests {
    static let rejections: [(String, HTTPParseError)] = [
        // Request line.
        ("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", .invalidRequestLine),
        (" GET / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("GET /\r\n\r\n", .invalidRequestLine),
        ("GET / a HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("GET /\u{7F} HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("GET / http/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("GET / HTTP/1.10\r\nHost: h\r\n\r\n", .invalidRequestLine),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/0.9\r\nHost: h\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/1.2\r\nHost: h\r\n\r\n", .unsupportedVersion),
        // Line endings and field syntax.
        ("GET / HTTP/1.1\nHost: h\r\n\r\n", .invalidLineEnding),
        ("GET / HTTP/1.1\r\nHost: h\n\r\n", .invalidLineEnding),
        ("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", .invalidLineEnding),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", .invalidLineEnding),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tfolded\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\nHost : h\r\n\r\n", .whitespaceBeforeColon),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A\t: h\r\n\r\n", .whitespaceBeforeColon),
        ("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHost: h\r\nX(A): v\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHost: h\r\nX\u{0}: v\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", .invalidFieldValue),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{1}b\r\n\r\n", .invalidFieldValue),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{7F}\r\n\r\n", .invalidFieldValue),
        // Host (RFC 9112 §3.2).
        ("GET / HTTP/1.1\r\n\r\n", .missingHost),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", .invalidHost),
        ("GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", .invalidHost),
        ("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", .invalidHost),
        // Content-Length.
        (
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
            .multipleContentLength
        ),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello", .multipleContentLength),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            .multipleContentLength
        ),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", .invalidContentLength),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            .invalidContentLength
        ),
        // Transfer-Encoding.
        (
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            .contentLengthWithTransferEncoding
        ),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
            .unsupportedTransferEncoding
        ),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            .unsupportedTransferEncoding
        ),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
            .unsupportedTransferEncoding
        ),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            .invalidTransferEncoding
        ),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            .invalidTransferEncoding
        ),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            .invalidTransferEncoding
        ),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .invalidTransferEncoding),
    ]

    @Test(arguments: rejections)
    func rejectsMalformedRequest(input: String, expected: HTTPParseError) {
        #expect(parseError(input) == expected)
    }

    @Test(arguments: rejections)
    func rejectsMalformedRequestFedByteByByte(input: String, expected: HTTPParseError) {
        let bytes = Array(input.utf8)
        var parser = HTTPParser(mode: .request)
        var thrown: HTTPParseError?
        for byte in bytes where thrown == nil {
            parser.feed([byte])
            do {
                while try parser.next() != nil {}
            } catch {
                thrown = error
            }
        }
        #expect(thrown == expected)
    }

    @Test(arguments: [
        (HTTPParseError.invalidRequestLine, 400), (.unsupportedVersion, 505),
        (.requestTargetTooLong, 414), (.headTooLarge, 431), (.tooManyFields, 431),
        (.trailersTooLarge, 431), (.bodyTooLarge, 413), (.unsupportedTransferEncoding, 501),
        (.multipleContentLength, 400), (.invalidChunkSize, 400),
    ])
    func mapsErrorToStatus(error: HTTPParseError, status: Int) {
        #expect(error.status == status)
        #expect(!error.reason.isEmpty)
    }

    @Test func keepsRawBytesOutOfReasons() {
        let error = parseError("GET / HTTP/1.1\r\nHost: h\r\nSecret\u{1}Value: x\r\n\r\n")
        #expect(error == .invalidFieldName)
        #expect(error?.description.contains("Secret") == false)
    }
}
