import FoundationEssentials
import TokenProxyCore
import TokenProxyNet

extension TokenAPI {
    static let introspectPrefix = "/v1/introspect/"

    /// `POST /v1/introspect/{name}` (after the access check): the RFC 7662 answer for the
    /// token in the body, from the cache or the IdP, using credential `name`'s key.
    /// 200 with `{"active":false}` for a dead token; 503 + `Retry-After` when the IdP cannot
    /// be asked (never a guess); 502 when the IdP refuses our client or answers nonsense.
    func introspect(
        _ path: String, _ request: HTTPServerRequest,
        _ reply: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        let name = String(path.dropFirst(Self.introspectPrefix.count))
        // The same access check as for `/v1/tokens/{name}`: whoever may read a credential's
        // token may ask about tokens with it (per-credential rules apply through this call).
        if let refusal = refusal(for: request) { return reply(refusal) }
        if let refusal = credentialCheck(name, peer: request.peer).0 { return reply(refusal) }
        let introspector = self.introspector
        guard introspector.contains(name) else {
            return reply(
                Self.error(
                    404, "unknown_credential",
                    "no credential named '\(Self.printable(name))'; configured: \(store.names.joined(separator: ", "))"
                ))
        }
        guard request.head.method == "POST" else { return reply(Self.methodNotAllowed("POST")) }
        let parsed: IntrospectionRequest
        switch IntrospectionRequest.parse(
            request.body, contentType: request.head.fields["Content-Type"])
        {
        case .success(let value): parsed = value
        case .failure(let error): return reply(Self.error(400, "invalid_request", "\(error)"))
        }
        if let answer = introspector.cachedAnswer(name, token: parsed.token) {
            return reply(Self.introspectionResponse(answer))
        }
        Task {
            do throws(IntrospectionError) {
                let answer = try await introspector.introspect(
                    name, token: parsed.token, hint: parsed.hint)
                reply(Self.introspectionResponse(answer))
            } catch {
                reply(Self.introspectionFailure(error))
            }
        }
    }

    /// The answer's JSON as the IdP sent it (`{"active":false}` for every inactive token).
    static func introspectionResponse(_ answer: IntrospectionAnswer) -> HTTPServerResponse {
        HTTPServerResponse(
            status: 200,
            headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
            body: answer.json)
    }

    static func introspectionFailure(_ error: IntrospectionError) -> HTTPServerResponse {
        if case .badRequest(let detail) = error {
            return Self.error(400, "invalid_request", detail)
        }
        guard error.isTemporary else {
            return Self.error(502, "introspection_failed", "\(error)")
        }
        let seconds = Limits.Introspection.retryAfterSeconds
        var response = Self.error(
            503, "introspection_unavailable", "\(error)",
            extra: [("retry_after", String(seconds))])
        response.headers.append("Retry-After", String(seconds))
        return response
    }
}
