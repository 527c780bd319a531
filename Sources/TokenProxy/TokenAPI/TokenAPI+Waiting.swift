import TokenProxyCore
import TokenProxyNet

extension TokenAPI {
    /// Like `later`, for requests parked on a token fetch: when no answer comes within
    /// `Limits.TokenAPI.maxTokenWait`, the caller gets 503 with `Retry-After` instead of
    /// waiting as long as a stalled IdP holds the fetch (up to the IdP client's 30 s total
    /// timeout; `bench/soak` found callers timing out there). The fetch goes on, shared with
    /// other callers, and its token serves the next request; the proxy bounds its parked
    /// requests the same way (`ProxyRouter.completeLater`).
    func laterBounded(
        _ reply: @escaping @Sendable (HTTPServerResponse) -> Void,
        _ body: @escaping @Sendable (TokenAPI) async -> HTTPServerResponse
    ) {
        let limit = Limits.TokenAPI.maxTokenWait
        BoundedWait.complete(
            timeout: limit, timedOut: TokenWaitTimedOut(), { await body(self) },
            completion: { result in reply((try? result.get()) ?? Self.waitTimedOut(limit)) })
    }

    /// 503 + `Retry-After: 1` for a token wait that ran out of time.
    static func waitTimedOut(_ limit: Duration) -> HTTPServerResponse {
        var response = Self.error(
            503, "token_unavailable",
            "no token within \(limit.components.seconds) s: the identity provider is slow or unreachable; "
                + "the fetch goes on, retry shortly",
            extra: [("category", JSONText.string("unavailable")), ("retry_after", "1")])
        response.headers.append("Retry-After", "1")
        return response
    }
}

/// The bounded wait of `TokenAPI.laterBounded` ran out (never shown: it becomes a 503).
struct TokenWaitTimedOut: Error {}
