import TokenProxy
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

extension DevIssuer {
    /// What a successful token request produced.
    struct IssuedResponse {
        var token: String
        var record: DevIssuerState.IssuedToken
    }

    /// `POST /oauth/v2/token`: the JWT-bearer grant (RFC 7523 §2.1) or `client_credentials`
    /// with `private_key_jwt` (RFC 7523 §2.2). Counts the outcome per client.
    func tokenResponse(_ request: HTTPServerRequest, issuer: String) -> HTTPServerResponse {
        do {
            let issued = try issueToken(request, issuer: issuer)
            state.withLock {
                $0.stats.recordToken(clientID: issued.record.clientID, outcome: "issued")
            }
            var body: [String: Any] = [
                "access_token": issued.token, "token_type": "Bearer",
                "expires_in": Int(issued.record.expiresAt - issued.record.issuedAt),
            ]
            if !issued.record.scope.isEmpty {
                body["scope"] = issued.record.scope.joined(separator: " ")
            }
            return Self.json(body)
        } catch {
            state.withLock { $0.stats.recordToken(clientID: error.clientID, outcome: error.code) }
            return Self.error(error)
        }
    }

    private func issueToken(_ request: HTTPServerRequest, issuer: String)
        throws(DevIssuerRejection) -> IssuedResponse
    {
        let form = try Self.form(of: request)
        let audiences = [issuer, issuer + Self.tokenPath]
        let client: Client
        switch form["grant_type"] {
        case nil:
            throw .invalidRequest("grant_type is missing")
        case GrantType.jwtBearer.formValue?:
            guard let assertion = form["assertion"] else {
                throw .invalidRequest(
                    "assertion is missing: the jwt-bearer grant sends the signed JWT as 'assertion'"
                )
            }
            guard form["client_assertion"] == nil else {
                throw .invalidRequest(
                    "client_assertion is not used with the jwt-bearer grant here; send only "
                        + "'assertion'")
            }
            client = try verifyAssertion(assertion, audiences: audiences)
            try requireGrant(.jwtBearer, for: client)
        case GrantType.clientCredentials.formValue?:
            client = try authenticateClient(form, audiences: audiences)
            try requireGrant(.clientCredentials, for: client)
        case let other?:
            throw .unsupportedGrantType(
                "grant_type '\(DevIssuerForm.printable(other))' is not supported; use "
                    + "\(GrantType.jwtBearer.formValue) or \(GrantType.clientCredentials.formValue)"
            )
        }
        let scope = try grantedScope(form["scope"], for: client)
        let now = nowSeconds
        let token = Base64URL.encode(SecureRandom.bytes(32))
        let record = DevIssuerState.IssuedToken(
            clientID: client.clientID, scope: scope, issuedAt: now,
            expiresAt: now + tokenLifetime.components.seconds)
        state.withLock { $0.remember(token: token, record, now: now) }
        return IssuedResponse(token: token, record: record)
    }

    private func requireGrant(_ grant: GrantType, for client: Client) throws(DevIssuerRejection) {
        guard client.grants.contains(grant) else {
            throw .unauthorizedClient(
                "client '\(client.clientID)' is not registered for the \(grant.formValue) grant",
                clientID: client.clientID)
        }
    }

    /// The scopes to grant: the requested ones when the client may have all of them (RFC 6749
    /// §3.3), in request order without repeats; all of the client's scopes when none were asked.
    private func grantedScope(_ requested: String?, for client: Client)
        throws(DevIssuerRejection) -> [String]
    {
        guard let requested else { return client.scopes.sorted() }
        var scope: [String] = []
        for token in requested.split(separator: " ").map(String.init) where !scope.contains(token) {
            scope.append(token)
        }
        let refused = scope.filter { !client.scopes.contains($0) }
        guard refused.isEmpty else {
            throw .invalidScope(
                "scope \(refused.map(DevIssuerForm.printable).joined(separator: " ")) is not "
                    + "allowed for client '\(client.clientID)' (allowed: "
                    + "\(client.scopes.sorted().joined(separator: " ")))",
                clientID: client.clientID)
        }
        return scope
    }

    /// The form body of a POST, which must say it is one.
    static func form(of request: HTTPServerRequest) throws(DevIssuerRejection) -> DevIssuerForm {
        guard DevIssuerForm.isFormContentType(request.head.fields["Content-Type"]) else {
            throw .invalidRequest("Content-Type must be application/x-www-form-urlencoded")
        }
        return try DevIssuerForm.parse(request.body)
    }
}
