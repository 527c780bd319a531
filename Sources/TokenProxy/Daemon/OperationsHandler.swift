import TokenProxyCore
import TokenProxyNet

/// The operations listener (`operations.listen`): `/healthz`, `/readyz` and `/metrics` for
/// kubelet probes and Prometheus, and nothing else — no token, no credential list, no refresh,
/// so it may listen on a pod IP. The answers are the token API's own (one implementation).
final class OperationsHandler: HTTPServerHandler {
    static let paths: Set<String> = ["/healthz", "/readyz", "/metrics"]
    private let tokens: SwappableHandler

    init(tokens: SwappableHandler) { self.tokens = tokens }

    func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        let (path, _) = TokenAPI.split(request.head.target)
        guard Self.paths.contains(path) else {
            return respond(
                TokenAPI.error(
                    404, "not_found",
                    "the operations listener serves only /healthz, /readyz and /metrics; "
                        + "tokens are on the token API socket"))
        }
        tokens.api.handle(request, respond: respond)
    }
}
