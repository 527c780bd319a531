import TokenProxy
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

extension DevIssuer {
    /// The endpoints of this issuer, as the discovery document lists them.
    package struct Endpoints: Sendable, Equatable {
        package var token: String
        package var introspection: String
        package var userinfo: String
        package var keys: String
    }

    /// The endpoint URLs for `issuer` (no trailing slash).
    package static func endpoints(issuer: String) -> Endpoints {
        Endpoints(
            token: issuer + tokenPath, introspection: issuer + introspectionPath,
            userinfo: issuer + userinfoPath, keys: issuer + keysPath)
    }

    /// `GET /.well-known/openid-configuration` (OIDC Discovery §3, RFC 8414 §2).
    func discoveryResponse(issuer: String) -> HTTPServerResponse {
        let endpoints = Self.endpoints(issuer: issuer)
        let algorithms = JWSAlgorithm.allCases.map(\.rawValue)
        return Self.json([
            "issuer": issuer,
            "token_endpoint": endpoints.token,
            "introspection_endpoint": endpoints.introspection,
            "userinfo_endpoint": endpoints.userinfo,
            "jwks_uri": endpoints.keys,
            "grant_types_supported": GrantType.allCases.map(\.formValue),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": algorithms,
            "introspection_endpoint_auth_methods_supported": ["private_key_jwt"],
            "introspection_endpoint_auth_signing_alg_values_supported": algorithms,
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "scopes_supported": Set(clients.values.flatMap(\.scopes)).sorted(),
        ])
    }

    /// `GET /oauth/v2/keys`: the registered clients' public keys as a JWKS. A real issuer
    /// publishes its own signing keys here; this one signs nothing, and showing the client keys
    /// lets a user check which key the issuer expects.
    func keysResponse() -> HTTPServerResponse {
        var keys: [[String: String]] = []
        for clientID in clients.keys.sorted() {
            let client = clients[clientID]!
            if let jwk = try? client.publicKey.jwk(keyID: client.keyID ?? clientID) {
                keys.append(jwk)
            }
        }
        return Self.json(["keys": keys])
    }
}
