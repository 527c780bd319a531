import TokenProxyCore

/// A response with its whole body, as buffered by `HTTPClient.execute`.
package struct HTTPClientResponse: Sendable {
    package var status: Int
    package var headers: HTTPFields
    package var body: [UInt8]

    package init(status: Int, headers: HTTPFields = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
