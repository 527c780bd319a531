/// Why the proxy answered a request itself instead of relaying the upstream's response. Each
/// case knows its status and a message for the `text/plain` body and the log: it names the
/// route and the cause, never a token (transport errors carry addresses and errno only).
enum ProxyEngineError: Error, CustomStringConvertible {
    /// Connecting failed (refused, unreachable, name not resolved): 502.
    case upstreamUnreachable(route: String, upstream: String, detail: String)
    /// Connecting took longer than `connectTimeout`: 504.
    case connectTimedOut(route: String, upstream: String)
    /// The upstream's certificate did not verify: 502 with the verifier's reason.
    case certificateRejected(route: String, upstream: String, reason: String)
    /// TLS failed for another reason, or an https upstream came without a TLS context: 502.
    case tlsFailed(route: String, upstream: String, detail: String)
    /// No response head within `responseTimeout`: 504.
    case responseTimedOut(route: String, upstream: String)
    /// The upstream closed, reset or sent something that is not HTTP/1.1: 502.
    case badUpstreamResponse(route: String, upstream: String, detail: String)
    /// The delegate produced a header or target that cannot go on the wire: 500.
    case invalidForward(route: String, detail: String)
    /// `.tunnel` for a request that is not CONNECT, or a CONNECT with a body: 400.
    case invalidTunnelRequest(route: String)

    /// The status the client gets.
    var status: Int {
        switch self {
        case .upstreamUnreachable, .certificateRejected, .tlsFailed, .badUpstreamResponse: 502
        case .connectTimedOut, .responseTimedOut: 504
        case .invalidForward: 500
        case .invalidTunnelRequest: 400
        }
    }

    var description: String {
        switch self {
        case .upstreamUnreachable(let route, let upstream, let detail):
            "route \(route): upstream \(upstream) unreachable: \(detail)"
        case .connectTimedOut(let route, let upstream):
            "route \(route): connecting to upstream \(upstream) timed out"
        case .certificateRejected(let route, let upstream, let reason):
            "route \(route): TLS certificate of upstream \(upstream) rejected: \(reason)"
        case .tlsFailed(let route, let upstream, let detail):
            "route \(route): TLS with upstream \(upstream) failed: \(detail)"
        case .responseTimedOut(let route, let upstream):
            "route \(route): upstream \(upstream) did not answer in time"
        case .badUpstreamResponse(let route, let upstream, let detail):
            "route \(route): bad response from upstream \(upstream): \(detail)"
        case .invalidForward(let route, let detail):
            "route \(route): cannot forward: \(detail)"
        case .invalidTunnelRequest(let route):
            "route \(route): a tunnel needs a CONNECT request without a body"
        }
    }

    /// Classifies a failure while connecting to `upstream`.
    static func connecting(_ error: any Error, route: String, upstream: String) -> ProxyEngineError
    {
        switch error {
        case let error as ProxyEngineError: return error
        case NetError.timedOut: return .connectTimedOut(route: route, upstream: upstream)
        case NetError.certificateVerification(_, let reason):
            return .certificateRejected(route: route, upstream: upstream, reason: reason)
        case NetError.tls(_, let detail), NetError.tlsConfiguration(_, let detail):
            return .tlsFailed(route: route, upstream: upstream, detail: detail)
        default:
            return .upstreamUnreachable(route: route, upstream: upstream, detail: "\(error)")
        }
    }

    /// Classifies a failure after the request was (partly) sent.
    static func exchanging(_ error: any Error, route: String, upstream: String) -> ProxyEngineError
    {
        switch error {
        case let error as ProxyEngineError: return error
        case NetError.timedOut, HTTPClientError.transport(.timedOut):
            return .responseTimedOut(route: route, upstream: upstream)
        default:
            return .badUpstreamResponse(route: route, upstream: upstream, detail: "\(error)")
        }
    }
}
