import FoundationEssentials

/// Checks of the URLs and URIs a credential names.
extension ConfigurationParser {
    /// An absolute `https` URL, or `http` toward a loopback host only: over plain http the
    /// signed assertion and the access token would cross the network in clear text. Issuers
    /// also may not have a query or fragment (OpenID Connect Discovery §2). Messages never quote
    /// the URL: a malformed one may still carry a password.
    static func checkURL(
        _ text: String, at path: ConfigPath, isIssuer: Bool, decoder: inout ConfigDecoder
    ) -> URL? {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = URLHost.decoded(components),
            !host.isEmpty,
            let url = components.url
        else {
            decoder.report(
                path, "must be an absolute http(s) URL like \"https://idp.example.com\"")
            return nil
        }
        if components.user != nil || components.password != nil {
            decoder.report(
                path, "must not contain a user name or password; they would end up in logs")
            return nil
        }
        if components.fragment != nil || (isIssuer && components.query != nil) {
            decoder.report(
                path, isIssuer ? "must not have a query or fragment" : "must not have a fragment")
            return nil
        }
        if scheme == "http", !isLoopbackHost(host) {
            decoder.report(
                path,
                "use https: http is only allowed for loopback hosts, because the assertion and the "
                    + "tokens would cross the network in clear text")
            return nil
        }
        return url
    }

    /// `localhost`, `127.0.0.0/8` or `::1` (with or without brackets, as Foundation versions differ).
    static func isLoopbackHost(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || host == "[::1]"
            || isLoopbackIPv4(Substring(host))
    }

    /// RFC 6749 §3.3: a scope token is printable ASCII except space, `"` and `\`.
    static func checkScope(_ scope: String, at path: ConfigPath, decoder: inout ConfigDecoder) {
        if scope.contains(" ") {
            decoder.report(
                path, "\"\(scope)\" holds several scopes; list each scope as its own string")
        } else if !scope.unicodeScalars.allSatisfy({
            (0x21...0x7E).contains($0.value) && $0 != "\"" && $0 != "\\"
        }) {
            decoder.report(path, "contains a character a scope may not have (RFC 6749 §3.3)")
        }
    }

    /// RFC 8707 §2: a resource indicator is an absolute URI without a fragment.
    static func checkResource(_ resource: String, at path: ConfigPath, decoder: inout ConfigDecoder)
    {
        guard let components = URLComponents(string: resource), components.scheme != nil,
            components.fragment == nil
        else {
            decoder.report(
                path,
                "must be an absolute URI without a fragment, like \"https://api.example.com\" (RFC 8707)"
            )
            return
        }
    }
}
