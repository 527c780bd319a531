import FoundationEssentials

/// `proxy.routes`: which requests get which credential's token, and where they go.
extension ConfigurationParser {
    static func parseRoutes(
        _ object: ConfigObject, credentials: [String], introspectionOnly: Set<String> = [],
        decoder: inout ConfigDecoder
    ) -> [ProxyRoute]? {
        let path = object.path.appending("routes")
        guard let (value, _) = decoder.member(object, "routes", required: false) else { return [] }
        guard case .array(let elements) = value else {
            decoder.reportType(path, expected: "an array of routes", got: value)
            return nil
        }
        var routes: [ProxyRoute] = []
        var valid = true
        for (index, element) in elements.enumerated() {
            let routePath = path.appending(index: index)
            guard
                let route = parseRoute(
                    element, at: routePath, credentials: credentials,
                    introspectionOnly: introspectionOnly, decoder: &decoder)
            else {
                valid = false
                continue
            }
            if let first = routes.firstIndex(where: {
                $0.host == route.host && $0.pathPrefix == route.pathPrefix
            }) {
                decoder.report(
                    routePath,
                    "has the same host and path_prefix as routes[\(first)]; the first match wins, so this "
                        + "route would never be used: merge or remove one")
                valid = false
            }
            routes.append(route)
        }
        return valid ? routes : nil
    }

    static func parseRoute(
        _ value: ConfigJSON, at path: ConfigPath, credentials: [String],
        introspectionOnly: Set<String> = [], decoder: inout ConfigDecoder
    ) -> ProxyRoute? {
        guard let object = decoder.object(value, at: path, keys: routeKeys) else { return nil }
        let problemsBefore = decoder.problems.count
        var host: String?
        if let text = decoder.string(object, "host"),
            let (name, port) = checkHostAndPort(text, at: path.appending("host"), decoder: &decoder)
        {
            host = port.map { "\(name):\($0)" } ?? name
        }
        let prefix = decoder.string(object, "path_prefix").flatMap {
            checkPathPrefix($0, at: path.appending("path_prefix"), decoder: &decoder)
        }
        if object["host"] == nil, object["path_prefix"] == nil {
            decoder.report(
                path,
                "needs \"host\" or \"path_prefix\" (or both); a route matching every request would make "
                    + "the proxy forward anything with a token: name the host, like \"api.example.com\""
            )
        }
        let strip = decoder.bool(object, "strip_prefix") ?? false
        if strip, object["path_prefix"] == nil {
            decoder.report(
                path.appending("strip_prefix"), "needs path_prefix: there is no prefix to strip")
        }
        let allowPlain = decoder.bool(object, "allow_plain_http") ?? false
        let upstream = decoder.string(object, "upstream", required: true).flatMap {
            checkUpstream(
                $0, at: path.appending("upstream"), allowPlainHTTP: allowPlain, decoder: &decoder)
        }
        let credential = decoder.string(object, "credential", required: object["guard"] == nil)
        if let credential {
            checkCredentialReference(
                credential, at: path.appending("credential"), credentials: credentials,
                decoder: &decoder)
            if introspectionOnly.contains(credential) {
                decoder.report(
                    path.appending("credential"),
                    "credential '\(credential)' has \"fetch_tokens\": false, so it has no token to "
                        + "inject; use it in \"guard\" or inject another credential's token")
            }
        }
        let routeGuard = parseGuard(
            object, credentials: credentials, injects: credential != nil, decoder: &decoder)
        let keepAuthorization = decoder.bool(object, "keep_client_authorization") ?? false
        let forwarded = decoder.bool(object, "forwarded_headers") ?? false
        var files: [String: String] = [:]
        for key in ["ca_file", "client_certificate", "client_key"] {
            files[key] = decoder.string(object, key).flatMap {
                checkAbsolutePath($0, at: path.appending(key), decoder: &decoder)
            }
        }
        let insecureKey = decoder.bool(object, "allow_insecure_key_permissions") ?? false
        checkTLSFiles(object, upstream: upstream, decoder: &decoder)
        let upgrades = parseUpgrades(object, decoder: &decoder)
        guard decoder.problems.count == problemsBefore, let upstream,
            credential != nil || routeGuard != nil
        else {
            return nil
        }
        return ProxyRoute(
            host: host, pathPrefix: prefix, stripPrefix: strip, upstream: upstream,
            credential: credential,
            keepClientAuthorization: keepAuthorization, forwardedHeaders: forwarded,
            allowPlainHTTP: allowPlain, caFile: files["ca_file"],
            clientCertificateFile: files["client_certificate"], clientKeyFile: files["client_key"],
            allowInsecureKeyPermissions: insecureKey, upgrades: upgrades, guard: routeGuard)
    }

    /// `credential` names a configured credential (with a suggestion when it does not).
    static func checkCredentialReference(
        _ credential: String, at path: ConfigPath, credentials: [String],
        decoder: inout ConfigDecoder
    ) {
        guard !credentials.contains(credential) else { return }
        var message = "no credential named '\(credential)' is configured"
        if let suggestion = ConfigSuggestion.closest(to: credential, among: credentials) {
            message += "; did you mean '\(suggestion)'?"
        } else if !credentials.isEmpty {
            message += "; configured: " + credentials.joined(separator: ", ")
        }
        decoder.report(path, message)
    }

    /// A client certificate needs its key and the other way round; TLS settings on an `http`
    /// upstream would silently do nothing.
    private static func checkTLSFiles(
        _ object: ConfigObject, upstream: URL?, decoder: inout ConfigDecoder
    ) {
        let hasCertificate = object["client_certificate"] != nil
        let hasKey = object["client_key"] != nil
        if hasCertificate != hasKey {
            decoder.report(
                object.path.appending(hasCertificate ? "client_key" : "client_certificate"),
                "required with \(hasCertificate ? "client_certificate" : "client_key"): mutual TLS needs "
                    + "the certificate and its key")
        }
        if let upstream, upstream.scheme?.lowercased() == "http" {
            for key in ["ca_file", "client_certificate", "client_key"] where object[key] != nil {
                decoder.report(
                    object.path.appending(key),
                    "applies only to an https upstream; remove it or use https")
            }
        }
    }

    /// An absolute http(s) URL, optionally with a base path. `http` is only allowed toward
    /// loopback unless the route opts in, because the injected token would travel in clear
    /// text. Messages never quote the URL: a malformed one may still carry a password.
    static func checkUpstream(
        _ text: String, at path: ConfigPath, allowPlainHTTP: Bool, decoder: inout ConfigDecoder
    ) -> URL? {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = URLHost.decoded(components), !host.isEmpty, let url = components.url
        else {
            decoder.report(path, "must be an absolute http(s) URL like \"https://api.example.com\"")
            return nil
        }
        if components.user != nil || components.password != nil {
            decoder.report(
                path,
                "must not contain a user name or password; the proxy injects the credential's token"
            )
            return nil
        }
        if components.query != nil || components.fragment != nil {
            decoder.report(
                path, "must not have a query or fragment; the request's own query is passed on")
            return nil
        }
        if scheme == "http", !allowPlainHTTP, !isLoopbackHost(host) {
            decoder.report(
                path,
                "use https: over plain http the injected token would cross the network in clear text "
                    + "(if this upstream speaks only http on a network you trust, set "
                    + "\"allow_plain_http\": true on this route)")
            return nil
        }
        return url
    }

    /// Starts with `/`; no query, fragment, space or control character (it is compared with
    /// request paths byte for byte).
    static func checkPathPrefix(_ prefix: String, at path: ConfigPath, decoder: inout ConfigDecoder)
        -> String?
    {
        guard prefix.hasPrefix("/") else {
            decoder.report(path, "must start with \"/\", like \"/zitadel/\"")
            return nil
        }
        guard
            prefix.unicodeScalars.allSatisfy({
                (0x21...0x7E).contains($0.value) && $0 != "?" && $0 != "#"
            })
        else {
            decoder.report(path, "must be a URL path: visible ASCII without '?', '#' or spaces")
            return nil
        }
        let segments = prefix.split(separator: "/")
        if segments.contains(".") || segments.contains("..") {
            decoder.report(path, "must not contain \".\" or \"..\" segments")
            return nil
        }
        return prefix
    }

    /// `name`, `name:port`, an IPv4 address or `[IPv6]`, optionally with `:port`. Returns the
    /// lowercased host (IPv6 in brackets) and the port if one was given.
    static func checkHostAndPort(_ text: String, at path: ConfigPath, decoder: inout ConfigDecoder)
        -> (host: String, port: Int?)?
    {
        let shape =
            "must be a host name or IP address with an optional port, like \"api.example.com\" or \"[::1]:8443\""
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                decoder.report(path, "\(shape) (got \"\(text)\")")
                return nil
            }
            host = text[...close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else {
                    decoder.report(path, "\(shape) (got \"\(text)\")")
                    return nil
                }
                portText = rest.dropFirst()
            }
            let inner = host.dropFirst().dropLast()
            guard inner.contains(":"), inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." })
            else {
                decoder.report(path, "\(shape) (got \"\(text)\")")
                return nil
            }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                decoder.report(path, "an IPv6 address needs brackets, like \"[::1]:8443\"")
                return nil
            }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            if host.contains("*") {
                decoder.report(path, "wildcards are not supported; add one route per host")
                return nil
            }
            guard isDNSName(host) else {
                decoder.report(path, "\(shape) (got \"\(text)\")")
                return nil
            }
        }
        var port: Int?
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, !portText.hasPrefix("0"),
                portText.allSatisfy({ ("0"..."9").contains($0) }), let number = Int(portText),
                (1...65535).contains(number)
            else {
                decoder.report(path, "port must be a number from 1 to 65535 (got \"\(portText)\")")
                return nil
            }
            port = number
        }
        return (host.lowercased(), port)
    }

    /// RFC 1123 host name (also matching dotted IPv4 addresses): labels of letters, digits and
    /// inner hyphens, 1-63 characters each, at most 253 in all, no trailing dot.
    static func isDNSName(_ name: Substring) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy {
                    $0.isASCII
                        && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
                }
        }
    }
}
