import FoundationEssentials
import TokenProxyCore
import TokenProxyNet

/// What the guard decided for one request.
enum ProxyGuardOutcome: Sendable {
    /// Forward, with these identity headers added.
    case allow([GuardHeader])
    /// Answer the client with this (401, 403, 400, 503 …); nothing reaches the upstream.
    case refuse(HTTPServerResponse)
}

/// Where the guard stands after its synchronous part.
enum ProxyGuardStep: Sendable {
    /// No guard, or the cached answer allows (identity headers already on the forward).
    case pass
    case refuse(HTTPServerResponse)
    /// Introspect `token` (``ProxyRouter/guardCheck(_:_:)``) before deciding.
    case check(Redacted<String>, ProxyGuardConfiguration)
}

/// The guard in front of a route (`proxy.routes[].guard`): the caller's bearer token must be
/// active by the guard credential's introspection, carry the required scopes and audience.
/// Split for the event-loop engine: ``guardFastPath(_:_:)`` answers synchronously from the
/// cache, on the loop; ``guardCheck(_:_:)`` is the `async` rest, which `decide` runs through
/// `completeLater` (bounded like a token wait) while the request is parked.
extension ProxyRouter {
    /// Checks `head` against `route`'s guard and prepares `forward`: the client's copies of
    /// the identity headers (and its `Authorization`, unless passed on) are always removed.
    /// Returns the refusal, or nil to forward. Routes without a guard return nil at once.
    func guardRequest(
        _ head: HTTPRequestHead, route: ProxyRouterRoute, forward: ProxyForward
    ) -> ProxyGuardStep {
        guard let routeGuard = route.route.guard else { return .pass }
        forward.removeHeaders += routeGuard.forwardClaims.map(\.header)
        if !routeGuard.forwardToken, route.route.credential == nil {
            forward.removeHeaders.append("Authorization")
        }
        let token: Redacted<String>
        switch BearerCredentials.token(in: head.fields) {
        case .success(let text): token = Redacted(text)
        case .failure(.missing):
            return .refuse(
                Self.bearerChallenge(
                    401, error: nil, "send the access token as Authorization: Bearer TOKEN"))
        case .failure(.malformed):
            return .refuse(
                Self.bearerChallenge(
                    400, error: "invalid_request",
                    "the request must carry exactly one Authorization: Bearer TOKEN"))
        }
        guard let outcome = guardFastPath(token, routeGuard) else {
            return .check(token, routeGuard)
        }
        return Self.apply(outcome, to: forward)
    }

    /// The end of an asynchronous check: its outcome applied to `forward`, or a 503 when the
    /// IdP did not answer in time.
    func guardFinished(
        _ result: Result<ProxyGuardOutcome, any Error>, forward: ProxyForward,
        route: String
    ) -> ProxyGuardOutcome {
        switch result {
        case .success(let outcome):
            if case .allow(let headers) = outcome {
                forward.addHeaders = headers.map { (name: $0.name, value: $0.value) }
            }
            return outcome
        case .failure(let error):
            logger.warning(
                "guard could not check a token in time: \(error)", metadata: ["route": "\(route)"])
            return .refuse(
                Self.guardFailure(
                    503, "the token could not be checked in time: \(error)",
                    retry: Limits.Introspection.retryAfterSeconds))
        }
    }

    static func apply(_ outcome: ProxyGuardOutcome, to forward: ProxyForward)
        -> ProxyGuardStep
    {
        switch outcome {
        case .refuse(let response):
            return .refuse(response)
        case .allow(let headers):
            forward.addHeaders = headers.map { (name: $0.name, value: $0.value) }
            return .pass
        }
    }

    /// (a) The synchronous part: the verdict on a cached answer; nil when the IdP must be asked.
    func guardFastPath(_ token: Redacted<String>, _ routeGuard: ProxyGuardConfiguration)
        -> ProxyGuardOutcome?
    {
        guard let introspection,
            let answer = introspection.cachedAnswer(routeGuard.credential, token: token)
        else { return nil }
        return Self.outcome(routeGuard.verdict(for: answer, unixNow: Date().timeIntervalSince1970))
    }

    /// (b) The asynchronous part: introspect (shared with identical requests in flight), then
    /// judge. An IdP that cannot be asked gives 503 and `Retry-After` — never "active".
    func guardCheck(_ token: Redacted<String>, _ routeGuard: ProxyGuardConfiguration) async
        -> ProxyGuardOutcome
    {
        guard let introspection else {
            return .refuse(
                Self.guardFailure(502, "no introspection is configured for this proxy", retry: nil))
        }
        do throws(IntrospectionError) {
            let answer = try await introspection.introspect(
                routeGuard.credential, token: token, hint: "access_token")
            return Self.outcome(
                routeGuard.verdict(for: answer, unixNow: Date().timeIntervalSince1970))
        } catch {
            return .refuse(Self.introspectionFailed(error))
        }
    }

    static func outcome(_ verdict: GuardVerdict) -> ProxyGuardOutcome {
        switch verdict {
        case .allow(let headers):
            return .allow(headers)
        case .invalidToken(let reason):
            return .refuse(bearerChallenge(401, error: "invalid_token", reason))
        case .insufficientScope(let required):
            return .refuse(
                bearerChallenge(
                    403, error: "insufficient_scope",
                    "the access token lacks a required scope: \(required.joined(separator: " "))",
                    scope: required.joined(separator: " ")))
        }
    }
}
