import TokenProxyCore

extension HTTPServerResponse {
    /// The fields of an `HTTPServerResponse`, shared by its copies until one of them changes.
    ///
    /// Mutable, yet `@unchecked Sendable`: it is only changed through a value that holds the
    /// sole reference (`isKnownUniquelyReferenced`), the copy-on-write rule that makes
    /// `Array` sendable; a box another thread can see is never written.
    final class Storage: @unchecked Sendable {
        var status: Int
        var headers: HTTPFields
        var body: [UInt8]
        var closeConnection: Bool
        var encodedHead: [UInt8]?
        var encodedAsksClose = false

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
