import TokenProxyCore

extension DevMode {
    /// A complete configuration: the two throwaway credentials, the token API on a Unix
    /// socket, and the proxy on loopback with two routes to the dev issuer's userinfo (an API
    /// that wants a Bearer token): by host for apps honouring `http_proxy`, and by path prefix
    /// for the reverse-proxy form; plus `api`, the API application key that only introspects
    /// (`POST /v1/introspect/api`), guarding a third route.
    static func configuration(_ session: Session) -> String {
        let issuer = JSONText.string(session.issuer)
        return """
            {
              "api": {"socket": \(JSONText.string(session.socket)), "socket_mode": "0600"},
              "credentials": {
                "demo": {
                  "key_file": \(JSONText.string(session.keys.serviceUserKeyPath)),
                  "issuer": \(issuer),
                  "grant": "jwt-bearer",
                  "scopes": ["openid", "profile"]
                },
                "gateway": {
                  "key_file": \(JSONText.string(session.keys.gatewayKeyPath)),
                  "client_id": \(JSONText.string(DevKeys.gatewayClientID)),
                  "issuer": \(issuer),
                  "grant": "client-credentials",
                  "scopes": ["dev:read"]
                },
                "api": {
                  "key_file": \(JSONText.string(session.apiKeyPath)),
                  "issuer": \(issuer),
                  "fetch_tokens": false
                }
              },
              "proxy": {
                "listen": [\(JSONText.string("127.0.0.1:\(session.proxyPort)"))],
                "routes": [
                  {"host": \(JSONText.string(apiHost)), "upstream": \(issuer), "credential": "demo"},
                  {"path_prefix": \(JSONText.string(apiPathPrefix)), "strip_prefix": true,
                   "upstream": \(issuer), "credential": "gateway"},
                  {"path_prefix": \(JSONText.string(guardedPathPrefix)), "strip_prefix": true,
                   "upstream": \(issuer), "credential": "gateway",
                   "guard": {"credential": "api", "require_scopes": ["profile"],
                             "forward_claims": {"sub": "X-Auth-Subject", "scope": "X-Auth-Scope"}}}
                ]
              },
              "log": {"level": "info"}
            }

            """
    }
}
