import FoundationEssentials
import TokenProxyCore

/// A request for `HTTPClient.execute`, with its whole body in memory (token requests are small).
///
/// The client owns framing: any `Content-Length` or `Transfer-Encoding` given here is replaced.
/// `Host` and `User-Agent` are added when absent.
package struct HTTPClientRequest: Sendable {
    package var method: String
    package var url: URL
    package var headers: HTTPFields
    package var body: [UInt8]

    package init(method: String = "GET", url: URL, headers: HTTPFields = [:], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}
