import FoundationEssentials

/// The `proxy` section. Its rules exist because the proxy adds a credential's token to what it
/// forwards: it must never listen beyond loopback, never forward to an upstream nobody named,
/// and never send a token in clear text across the network by accident.
extension ConfigurationParser {
    static let proxyKeys = [
        "listen", "routes", "tunnels", "refresh_header", "max_replay_body_bytes", "connect_timeout",
        "response_timeout", "header_read_timeout", "idle_timeout", "max_connections",
    ]
    static let routeKeys = [
        "host", "path_prefix", "strip_prefix", "upstream", "credential",
        "keep_client_authorization",
        "forwarded_headers", "allow_plain_http", "ca_file", "client_certificate", "client_key",
        "allow_insecure_key_permissions", "upgrades", "guard",
    ]
    /// Fields the proxy itself sets or that frame the message: a refresh header with one of
    /// these names would be stripped from every request.
    static let reservedRefreshHeaders = [
        "authorization", "proxy-authorization", "host", "connection", "content-length",
        "transfer-encoding", "te", "upgrade", "expect",
    ]

    /// `nil` without a problem when the section is absent.
    static func parseProxy(
        _ root: ConfigObject, api: APIConfiguration?, decoder: inout ConfigDecoder
    ) -> ProxyConfiguration? {
        guard let object = decoder.object(root, "proxy", keys: proxyKeys) else { return nil }
        let problemsBefore = decoder.problems.count
        let listen = parseProxyListen(object, api: api, decoder: &decoder)
        let routes = parseRoutes(
            object, credentials: credentialNames(root),
            introspectionOnly: introspectionOnlyNames(root), decoder: &decoder)
        let tunnels = parseTunnels(object, decoder: &decoder)
        if let routes, let tunnels, routes.isEmpty, tunnels.isEmpty {
            decoder.report(
                object.path.appending("routes"),
                "must contain at least one route (or list tunnels); a proxy without either would "
                    + "refuse every request")
        }
        var proxy = ProxyConfiguration(
            listen: listen ?? [], routes: routes ?? [], tunnels: tunnels ?? [])
        if let name = decoder.string(object, "refresh_header") {
            proxy.refreshHeader = checkRefreshHeader(
                name, at: object.path.appending("refresh_header"), decoder: &decoder)
        }
        func seconds(_ key: String, _ range: ClosedRange<Double>, _ decoder: inout ConfigDecoder)
            -> Duration?
        {
            decoder.number(object, key, in: range, unit: "seconds").map { .seconds($0) }
        }
        proxy.connectTimeout =
            seconds("connect_timeout", 0.1...300, &decoder) ?? proxy.connectTimeout
        proxy.responseTimeout =
            seconds("response_timeout", 1...3600, &decoder) ?? proxy.responseTimeout
        proxy.headerReadTimeout =
            seconds("header_read_timeout", 0.1...300, &decoder) ?? proxy.headerReadTimeout
        proxy.idleTimeout = seconds("idle_timeout", 1...3600, &decoder) ?? proxy.idleTimeout
        proxy.maxReplayBodyBytes =
            decoder.number(
                object, "max_replay_body_bytes", in: 0...16_777_216, unit: "bytes",
                wholeNumber: true
            ).map { Int($0) } ?? proxy.maxReplayBodyBytes
        proxy.maxConnections =
            decoder.number(object, "max_connections", in: 1...65536, wholeNumber: true).map {
                Int($0)
            }
            ?? proxy.maxConnections
        return decoder.problems.count == problemsBefore ? proxy : nil
    }

    /// The names under `credentials`, even when some are invalid: a route naming a broken
    /// credential should not also be told the credential does not exist.
    static func credentialNames(_ root: ConfigObject) -> [String] {
        guard case .object(let members)? = root["credentials"] else { return [] }
        return members.map(\.key)
    }

    /// The credentials with `"fetch_tokens": false`: they can guard a route, not inject.
    static func introspectionOnlyNames(_ root: ConfigObject) -> Set<String> {
        guard case .object(let members)? = root["credentials"] else { return [] }
        return Set(
            members.compactMap { member in
                guard case .object(let fields) = member.value,
                    fields.contains(where: { $0.key == "fetch_tokens" && $0.value == .bool(false) })
                else { return nil }
                return member.key
            })
    }

    static func parseProxyListen(
        _ object: ConfigObject, api: APIConfiguration?, decoder: inout ConfigDecoder
    ) -> [ProxyListenAddress]? {
        let path = object.path.appending("listen")
        guard object["listen"] != nil else {
            decoder.report(
                path,
                "required key is missing; add where the proxy listens, like [\"127.0.0.1:8787\"]")
            return nil
        }
        guard let texts = decoder.stringArray(object, "listen") else { return nil }
        guard !texts.isEmpty else {
            decoder.report(path, "must contain at least one address, like \"127.0.0.1:8787\"")
            return nil
        }
        var addresses: [ProxyListenAddress] = []
        var valid = true
        for (index, text) in texts.enumerated() {
            let elementPath = path.appending(index: index)
            guard let address = parseProxyListenAddress(text, at: elementPath, decoder: &decoder)
            else {
                valid = false
                continue
            }
            if let first = addresses.firstIndex(of: address) {
                decoder.report(elementPath, "duplicate of listen[\(first)]; keep only one")
                valid = false
            } else if let conflict = apiConflict(address, api: api) {
                decoder.report(
                    elementPath, "is already the token API's \(conflict); choose another")
                valid = false
            }
            addresses.append(address)
        }
        return valid ? addresses : nil
    }

    /// `unix:/absolute/path`, `127.x.y.z:PORT` or `[::1]:PORT`.
    static func parseProxyListenAddress(
        _ text: String, at path: ConfigPath, decoder: inout ConfigDecoder
    ) -> ProxyListenAddress? {
        if text.hasPrefix("unix:") {
            let socket = String(text.dropFirst("unix:".count))
            let before = decoder.problems.count
            _ = checkSocketPath(socket, at: path, decoder: &decoder)
            return decoder.problems.count == before ? .unix(path: socket) : nil
        }
        // A name or a routable address gets the proxy's own reason before the shared checks.
        let host = listenHost(text)
        if let host, host != "::1", host.lowercased() != "localhost",
            !isLoopbackIPv4(Substring(host))
        {
            decoder.report(
                path,
                "\(host) is not a loopback address; the proxy adds tokens to whatever it forwards, so "
                    + "an open port would hand them to the network: listen on 127.0.0.0/8 or [::1], or "
                    + "on \"unix:/run/tokenproxy/proxy.sock\"")
            return nil
        }
        return checkListenAddress(text, at: path, decoder: &decoder).map {
            .tcp(host: $0.host, port: $0.port)
        }
    }

    /// The address part of `ADDRESS:PORT` or `[ADDRESS]:PORT`, if the text has that shape.
    private static func listenHost(_ text: String) -> String? {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
        return String(text[..<colon])
    }

    /// Which of the token API's sockets `address` would collide with, if any.
    private static func apiConflict(_ address: ProxyListenAddress, api: APIConfiguration?)
        -> String?
    {
        guard let api else { return nil }
        switch address {
        case .unix(let path) where path == api.socket:
            return "socket"
        case .tcp(let host, let port)
        where port != 0 && api.tcp?.host == host && api.tcp?.port == port:
            return "tcp.listen address"
        default:
            return nil
        }
    }

    static func checkRefreshHeader(
        _ name: String, at path: ConfigPath, decoder: inout ConfigDecoder
    )
        -> String
    {
        if !isToken(name) {
            decoder.report(
                path,
                "must be an HTTP field name: letters, digits and !#$%&'*+-.^_`|~ (RFC 9110 §5.1)")
        } else if reservedRefreshHeaders.contains(name.lowercased()) {
            decoder.report(
                path,
                "\(name) is a field the proxy needs; choose a name of your own like \"X-Tokenproxy-Refresh\""
            )
        }
        return name
    }

    static func parseTunnels(_ object: ConfigObject, decoder: inout ConfigDecoder) -> [ProxyTunnel]?
    {
        guard let texts = decoder.stringArray(object, "tunnels") else {
            return object["tunnels"] == nil ? [] : nil
        }
        var tunnels: [ProxyTunnel] = []
        var valid = true
        for (index, text) in texts.enumerated() {
            let path = object.path.appending("tunnels").appending(index: index)
            guard let (host, port) = checkHostAndPort(text, at: path, decoder: &decoder) else {
                valid = false
                continue
            }
            guard let port else {
                decoder.report(
                    path,
                    "must be HOST:PORT like \"github.com:443\" (a CONNECT request always names a port)"
                )
                valid = false
                continue
            }
            let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            tunnels.append(ProxyTunnel(host: bare, port: port))
        }
        return valid ? tunnels : nil
    }
}
