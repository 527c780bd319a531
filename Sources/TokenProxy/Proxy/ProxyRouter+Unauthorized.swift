import Logging
import TokenProxyCore
import TokenProxyNet

extension ProxyRouter {
    /// After a 401 from the upstream: if the rejected token is still the current one, refresh
    /// it (the token service joins concurrent refreshes, and later 401s for the same token see
    /// a newer generation, so a burst of 401s causes one fetch) and return the new one;
    /// otherwise return the current token. nil passes the 401 to the client: the client sent
    /// its own credentials, the route is gone or changed by a reload, or no token came.
    package func authorizationAfterUnauthorized(
        _ forward: ProxyForward, completion: @escaping @Sendable (String?) -> Void
    ) -> ProxyAnswer<String?> {
        guard forward.authorization != nil, let route = routesByName[forward.routeName],
            route.upstream == forward.upstream, let credential = route.route.credential
        else { return .now(nil) }
        if let current = tokens.cachedToken(credential, minValid: nil),
            Self.generation(of: current) != forward.tokenGeneration
        {
            return .now(Self.bearer(current))
        }
        let (tokens, logger, routeName) = (self.tokens, self.logger, route.name)
        let rejected = forward.tokenGeneration
        Self.completeLater(timeout: tokenTimeout) {
            try await tokens.refresh(credential)
        } completion: { result in
            switch result {
            case .success(let fresh) where Self.generation(of: fresh) != rejected:
                logger.info(
                    "upstream rejected the token; refreshed it",
                    metadata: ["route": "\(routeName)", "credential": "\(credential)"])
                completion(Self.bearer(fresh))
            case .success:
                completion(nil)
            case .failure(let error):
                logger.warning(
                    "upstream rejected the token and no new one could be fetched: \(error)",
                    metadata: ["route": "\(routeName)", "credential": "\(credential)"])
                completion(nil)
            }
        }
        return .later
    }

    /// One log line per exchange (debug when all went well, warning when the upstream failed)
    /// and the proxy metrics (`ProxyRouterReporter`).
    package func completed(_ event: ProxyEvent) {
        reporter.completed(event)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        ProxyRouterReporter.milliseconds(duration)
    }
}
