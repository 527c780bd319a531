import FoundationEssentials
import TokenProxyCore
import TokenProxyNet

/// Talks to a running daemon over its Unix socket, for `tokenproxy token` and `status`.
/// Blocking by design: these are one-shot commands.
package enum DaemonClient {
    /// A response from the daemon.
    package struct Response: Sendable {
        package var status: Int
        package var headers: HTTPFields
        package var body: [UInt8]
    }

    /// Why the daemon could not be asked.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// The socket to use: `--socket`, else `$TOKENPROXY_SOCKET`, else the default.
    package static func socketPath(explicit: String?, environment: [String: String]) -> String {
        explicit ?? environment["TOKENPROXY_SOCKET"] ?? APIConfiguration.defaultSocket
    }

    /// One request; the whole exchange must finish within `timeout`.
    package static func request(
        socket: String, method: String = "GET", target: String, accept: String = "application/json",
        body: [UInt8] = [], contentType: String? = nil, timeout: Duration = .seconds(35)
    ) throws(Failure) -> Response {
        let deadline = ContinuousClock.now + timeout
        do {
            let stream = try SocketStream.connect(unixPath: socket, deadline: deadline)
            let connection = HTTPClientConnection(stream: stream, peer: socket)
            defer { connection.close() }
            var head = HTTPRequestHead(
                method: method, target: target,
                fields: [
                    "Host": "localhost", "Accept": accept, "Connection": "close",
                    "Content-Length": String(body.count),
                ])
            if let contentType { head.fields.append("Content-Type", contentType) }
            try connection.sendRequest(head, body: body, deadline: deadline)
            let responseHead = try connection.readResponseHead(deadline: deadline)
            let body = try connection.readResponseBody(
                head: responseHead, limit: 1 << 20, deadline: deadline)
            return Response(status: responseHead.status, headers: responseHead.fields, body: body)
        } catch {
            throw Failure(
                description:
                    "cannot reach the tokenproxy daemon at \(socket): \(error). Is it running "
                    + "(systemctl status tokenproxy)? Use --socket or TOKENPROXY_SOCKET for another path."
            )
        }
    }
}
