import TokenProxy
import TokenProxyCore
import TokenProxyNet

extension DevIssuer {
    /// `POST /oauth/v2/introspect` (RFC 7662): any registered client, authenticated with a
    /// client assertion whose `aud` is the issuer or this endpoint, may ask about any token.
    /// Unknown, expired and forgotten tokens are all just `{"active": false}` (RFC 7662 §2.2).
    func introspectionResponse(_ request: HTTPServerRequest, issuer: String)
        -> HTTPServerResponse
    {
        do throws(DevIssuerRejection) {
            let form = try Self.form(of: request)
            _ = try authenticateClient(
                form, audiences: [issuer, issuer + Self.introspectionPath])
            guard let token = form["token"] else {
                throw DevIssuerRejection.invalidRequest("token is missing")
            }
            let now = nowSeconds
            guard let record = state.withLock({ $0.activeToken(token, now: now) }) else {
                return Self.json(["active": false])
            }
            var body: [String: Any] = [
                "active": true, "client_id": record.clientID, "sub": record.clientID,
                "exp": record.expiresAt, "iat": record.issuedAt, "iss": issuer,
                "token_type": "Bearer",
            ]
            if !record.scope.isEmpty { body["scope"] = record.scope.joined(separator: " ") }
            return Self.json(body)
        } catch {
            return Self.error(error)
        }
    }

    /// `GET|POST /oidc/v1/userinfo` with `Authorization: Bearer TOKEN` (RFC 6750 §2.1).
    /// No credentials: 401 with a bare `Bearer` challenge (RFC 6750 §3.1 asks for no error
    /// code then); a token that is not active: 401 with `error="invalid_token"`.
    func userinfoResponse(_ request: HTTPServerRequest) -> HTTPServerResponse {
        let realm = "realm=\"tokenproxy-dev\""
        let authorizations = request.head.fields.values("Authorization")
        guard !authorizations.isEmpty else {
            return Self.json(
                [
                    "error": "invalid_request",
                    "error_description": "send the access token as Authorization: Bearer TOKEN",
                ], status: 401, headers: [("WWW-Authenticate", "Bearer \(realm)")])
        }
        func invalid(_ detail: String) -> HTTPServerResponse {
            Self.json(
                ["error": "invalid_token", "error_description": detail], status: 401,
                headers: [("WWW-Authenticate", "Bearer \(realm), error=\"invalid_token\"")])
        }
        guard authorizations.count == 1, let token = Self.bearerToken(authorizations[0]) else {
            return invalid("the Authorization header is not one 'Bearer TOKEN'")
        }
        guard let record = state.withLock({ $0.activeToken(token, now: nowSeconds) }) else {
            return invalid("the access token is unknown or expired")
        }
        let name = clients[record.clientID]?.name ?? record.clientID
        return Self.json(["sub": record.clientID, "name": name])
    }

    /// The token of `Bearer TOKEN` (scheme case-insensitive, RFC 9110 §11.1); nil otherwise.
    static func bearerToken(_ value: String) -> String? {
        let parts = value.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1])
    }
}
