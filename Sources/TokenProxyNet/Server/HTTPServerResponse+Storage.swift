import TokenProxyCore

extension HTTPServerResponse {
    /// The fields of an `HTTPServerResponse`, shared by its copies until one of them changes.
    ///
    /// Mutable, yet `@unchecked Sendable`: it is only changed through a value that holds the
    /// sole reference (`isKnownUniquelyReferenced`), the copy-on-write rule that makes
    /// `Array` sendable; a box another thread can see is never written. For the same reason
    /// its accesses are not checked for exclusivity at run time (each check costs more than
    /// the read it guards, on every response).
    final class Storage: @unchecked Sendable {
        @exclusivity(unchecked) var status: Int
        @exclusivity(unchecked) var headers: HTTPFields
        @exclusivity(unchecked) var body: [UInt8]
        @exclusivity(unchecked) var closeConnection: Bool
        @exclusivity(unchecked) var encodedHead: [UInt8]?
        @exclusivity(unchecked) var encodedAsksClose = false

        init(status: Int, headers: HTTPFields, body: [UInt8], closeConnection: Bool) {
            self.status = status
            self.headers = headers
            self.body = body
            self.closeConnection = closeConnection
        }

        func copy() -> Storage {
            let copy = Storage(
                status: status, headers: headers, body: body, closeConnection: closeConnection)
            copy.encodedHead = encodedHead
            copy.encodedAsksClose = encodedAsksClose
            return copy
        }
    }
}

extension HTTPServerResponse {
    /// Calls `use` with the head up to `Date` (the pre-encoded one when there is one) and the
    /// body bytes that go on the wire (none in answer to HEAD, RFC 9110 §9.3.2, nor for 1xx,
    /// 204 or 304), borrowed from this response: a cached answer is written straight from its
    /// bytes, with no array copied or retained.
    func withWireParts<Result>(
        includeBody: Bool,
        _ use: (_ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer) -> Result
    ) -> Result {
        let sendsBody = HTTPServerResponseEncoder.sendsBody(self, answeringHEAD: !includeBody)
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        return withHeadPrefix { head in
            sendsBody ? storage.body.withUnsafeBytes { use(head, $0) } : use(head, empty)
        }
    }

    private func withHeadPrefix<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        if let head = storage.encodedHead { return head.withUnsafeBytes(body) }
        return HTTPServerResponseEncoder.headPrefix(for: self).withUnsafeBytes(body)
    }
}
