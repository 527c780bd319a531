import TokenProxyCore

extension DevMode {
    /// A complete configuration: the two throwaway credentials, the token API on a Unix
    /// socket, and the proxy on loopback with two routes to the dev issuer's userinfo (an API
    /// that wants a Bearer token): by host for apps honouring `http_proxy`, and by path prefix
    /// for the reverse-proxy form.
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
                }
              },
              "proxy": {
                "listen": [\(JSONText.string("127.0.0.1:\(session.proxyPort)"))],
                "routes": [
                  {"host": \(JSONText.string(apiHost)), "upstream": \(issuer), "credential": "demo"},
                  {"path_prefix": \(JSONText.string(apiPathPrefix)), "strip_prefix": true,
                   "upstream": \(issuer), "credential": "gateway"}
                ]
              },
              "log": {"level": "info"}
            }

            """
    }
}
