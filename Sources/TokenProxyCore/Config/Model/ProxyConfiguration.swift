import FoundationEssentials

/// The `proxy` section: where the injecting proxy listens and which upstreams it may send
/// tokens to. Nothing is forwarded that matches no route: tokenproxy is never an open proxy.
package struct ProxyConfiguration: Sendable, Equatable {
    /// `127.0.0.1:8787`, `[::1]:8787` (loopback only) or `unix:/run/tokenproxy/proxy.sock`.
    package var listen: [ProxyListenAddress]
    /// Checked in order; the first match wins.
    package var routes: [ProxyRoute]
    /// `host:port` pairs allowed through CONNECT untouched (no token), for apps that set
    /// `https_proxy` globally. Empty: CONNECT is always refused with 405.
    package var tunnels: [ProxyTunnel]
    /// A request header that makes the proxy fetch a fresh token before forwarding
    /// (`X-Tokenproxy-Refresh: 1`); removed before forwarding.
    package var refreshHeader: String
    /// Request bodies up to this size are buffered so the request can be replayed once after
    /// a 401 from the upstream; larger ones stream and are not retried.
    package var maxReplayBodyBytes: Int
    /// Connecting to an upstream (TCP + TLS).
    package var connectTimeout: Duration
    /// Waiting for the upstream's response head after the request was sent.
    package var responseTimeout: Duration
    /// The whole request head must arrive within this (slowloris).
    package var headerReadTimeout: Duration
    /// Keep-alive connections idle longer than this are closed (client side and pool).
    package var idleTimeout: Duration
    /// Connections the proxy accepts at once.
    package var maxConnections: Int

    package static let defaultRefreshHeader = "X-Tokenproxy-Refresh"

    package init(
        listen: [ProxyListenAddress], routes: [ProxyRoute], tunnels: [ProxyTunnel] = [],
        refreshHeader: String = ProxyConfiguration.defaultRefreshHeader,
        maxReplayBodyBytes: Int = Limits.Proxy.maxReplayBodyBytes,
        connectTimeout: Duration = Limits.Proxy.connectTimeout,
        responseTimeout: Duration = Limits.Proxy.responseTimeout,
        headerReadTimeout: Duration = Limits.Proxy.headerReadTimeout,
        idleTimeout: Duration = Limits.Proxy.idleTimeout,
        maxConnections: Int = Limits.Proxy.maxConnections
    ) {
        self.listen = listen
        self.routes = routes
        self.tunnels = tunnels
        self.refreshHeader = refreshHeader
        self.maxReplayBodyBytes = maxReplayBodyBytes
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

/// Where the proxy listens.
package enum ProxyListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// A loopback TCP address (`127.0.0.0/8` or `::1`, without brackets).
    case tcp(host: String, port: UInt16)
    /// A Unix socket path.
    case unix(path: String)

    package var description: String {
        switch self {
        case .tcp(let host, let port):
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return "unix:\(path)"
        }
    }
}

/// A CONNECT destination let through untouched: `github.com:443`.
package struct ProxyTunnel: Sendable, Hashable, CustomStringConvertible {
    /// Lowercased host name or IP literal (IPv6 without brackets).
    package var host: String
    package var port: Int

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// One upstream the proxy may send a credential's token to. At least one of `host` and
/// `pathPrefix` is set (the parser refuses a catch-all route).
package struct ProxyRoute: Sendable, Equatable {
    /// Matches the request's host (absolute-form target, else `Host`); lowercased by the
    /// parser, IPv6 in brackets. With a port (`api.example.com:8080`) the port must match too.
    /// nil matches any host.
    package var host: String?
    /// Matches paths starting with this (`/zitadel/`). nil matches every path.
    package var pathPrefix: String?
    /// Remove `pathPrefix` before forwarding (reverse-proxy form).
    package var stripPrefix: Bool
    /// Where to send: `https://api.example.com` (a base path is prepended to the request path).
    package var upstream: URL
    /// The credential whose token is injected; nil on a guard-only route, which forwards
    /// without a token of tokenproxy's (the parser requires a credential or a guard).
    package var credential: String?
    /// Keep a client-supplied `Authorization` instead of injecting (the token is still used
    /// when the client sent none).
    package var keepClientAuthorization: Bool
    /// Add `X-Forwarded-For` and `X-Forwarded-Proto`.
    package var forwardedHeaders: Bool
    /// Allows an `http` upstream that is not on loopback: the token then crosses the network in
    /// clear text. The daemon logs a warning for every such route.
    package var allowPlainHTTP: Bool
    /// Extra CA certificates (PEM) to verify this upstream.
    package var caFile: String?
    /// Client certificate (PEM) and key for mutual TLS with this upstream.
    package var clientCertificateFile: String?
    package var clientKeyFile: String?
    /// Accept a `clientKeyFile` that group or others can read (as for credential keys).
    package var allowInsecureKeyPermissions: Bool
    /// Protocols a client may switch to through this route with `Upgrade` (RFC 9110 §7.8),
    /// lowercased protocol names. Any other offer (`h2c` above all: after a 101 the proxy
    /// would stop seeing requests) is removed and the request forwarded as plain HTTP/1.1.
    /// Empty: no upgrade at all.
    package var upgrades: [String]
    /// Checks the caller's bearer token before forwarding (see ``ProxyGuardConfiguration``).
    package var `guard`: ProxyGuardConfiguration?

    /// Only WebSocket (RFC 6455) is tunnelled unless the route says otherwise.
    package static let defaultUpgrades = ["websocket"]

    package init(
        host: String? = nil, pathPrefix: String? = nil, stripPrefix: Bool = false, upstream: URL,
        credential: String?, keepClientAuthorization: Bool = false, forwardedHeaders: Bool = false,
        allowPlainHTTP: Bool = false, caFile: String? = nil, clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil, allowInsecureKeyPermissions: Bool = false,
        upgrades: [String] = ProxyRoute.defaultUpgrades, guard: ProxyGuardConfiguration? = nil
    ) {
        self.host = host
        self.pathPrefix = pathPrefix
        self.stripPrefix = stripPrefix
        self.upstream = upstream
        self.credential = credential
        self.keepClientAuthorization = keepClientAuthorization
        self.forwardedHeaders = forwardedHeaders
        self.allowPlainHTTP = allowPlainHTTP
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.allowInsecureKeyPermissions = allowInsecureKeyPermissions
        self.upgrades = upgrades
        self.guard = `guard`
    }

    /// How logs, metrics and error bodies name the route: `api.example.com`, `/zitadel/` or
    /// `api.example.com/zitadel/`. Unique within a configuration, because the parser refuses
    /// two routes with the same host and path prefix.
    package var name: String { (host ?? "") + (pathPrefix ?? "") }
}
