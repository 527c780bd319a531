import FoundationEssentials
import TokenProxyCore

/// A request validated and turned into wire form before any I/O happens.
struct HTTPClientPreparedRequest: Sendable {
    /// Where to open a TCP connection (a proxy, or the origin).
    struct Endpoint: Sendable {
        /// Host without brackets or percent-encoding, as `getaddrinfo` wants it.
        var host: String
        var port: Int
        /// `host:port` for messages, brackets around IPv6.
        var display: String
    }

    /// What makes two requests able to share a pooled connection.
    struct PoolKey: Hashable, Sendable {
        var scheme: String
        var host: String
        var port: Int
        /// `host:port` of the proxy, or nil when direct.
        var proxy: String?
    }

    var head: HTTPRequestHead
    var body: [UInt8]
    var key: PoolKey
    var origin: Endpoint
    var isTLS: Bool
    /// The proxy to connect to instead of `origin`, if any.
    var proxy: Endpoint?
    /// `Proxy-Authorization` value from the proxy URL's credentials (a secret).
    var proxyAuthorization: Redacted<String>?
}

extension HTTPClient {
    /// Validates `request` the way async-http-client's RequestValidation does — every header
    /// name and value byte by byte (RFC 9110 §5.1, §5.5), the method as a token, the URL — and
    /// builds the head: Host (with port when not default, brackets for IPv6), User-Agent,
    /// Content-Length, request-target in origin-form, or absolute-form toward an HTTP proxy.
    func prepare(_ request: HTTPClientRequest) throws -> HTTPClientPreparedRequest {
        guard let components = URLComponents(url: request.url, resolvingAgainstBaseURL: false)
        else {
            throw HTTPClientError.invalidURL(reason: "cannot parse the URL")
        }
        let scheme = components.scheme?.lowercased() ?? ""
        guard scheme == "http" || scheme == "https" else {
            throw HTTPClientError.unsupportedScheme(scheme)
        }
        let origin = try Self.endpoint(components, defaultPort: scheme == "https" ? 443 : 80)
        guard components.user == nil && components.password == nil else {
            throw HTTPClientError.invalidURL(
                reason:
                    "credentials in the URL of \(origin.display) are not supported; send an Authorization header"
            )
        }
        guard HTTPFields.isToken(request.method.utf8) else { throw HTTPClientError.invalidMethod }
        if let bad = request.headers.firstInvalidField() {
            throw HTTPClientError.invalidHeader(name: bad.name)
        }

        let defaultPort = scheme == "https" ? 443 : 80
        let hostHeader =
            origin.port == defaultPort ? Self.authorityHost(components) : origin.display
        var path = components.percentEncodedPath
        if path.isEmpty { path = "/" }
        if let query = components.percentEncodedQuery { path += "?" + query }

        var proxy: HTTPClientPreparedRequest.Endpoint?
        var proxyAuthorization: Redacted<String>?
        if let proxyURL = configuration.proxy.proxy(for: request.url) {
            (proxy, proxyAuthorization) = try Self.proxyEndpoint(proxyURL)
        }
        let target = proxy != nil && scheme == "http" ? "http://\(hostHeader)\(path)" : path
        guard HTTPFields.isValidRequestTarget(target.utf8) else {
            throw HTTPClientError.invalidURL(
                reason: "the path of a URL for \(origin.display) has invalid characters")
        }

        var fields = HTTPFields()
        fields.append("Host", request.headers["Host"] ?? hostHeader)
        for field in request.headers where !Self.clientOwned(field.name) {
            fields.append(field.name, field.value)
        }
        if !fields.contains("User-Agent") && !configuration.userAgent.isEmpty {
            fields.append("User-Agent", configuration.userAgent)
        }
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
            fields.append("Content-Length", String(request.body.count))
        }
        if let proxyAuthorization, scheme == "http" {
            fields.append("Proxy-Authorization", proxyAuthorization.value)
        }
        let head = HTTPRequestHead(method: request.method, target: target, fields: fields)
        let key = HTTPClientPreparedRequest.PoolKey(
            scheme: scheme, host: origin.host, port: origin.port, proxy: proxy?.display)
        return HTTPClientPreparedRequest(
            head: head, body: request.body, key: key, origin: origin, isTLS: scheme == "https",
            proxy: proxy,
            proxyAuthorization: proxyAuthorization)
    }

    /// Fields the client sets itself: framing must match the body we send, and Host is placed
    /// first.
    private static func clientOwned(_ name: String) -> Bool {
        HTTPFields.namesEqual(name, "Content-Length")
            || HTTPFields.namesEqual(name, "Transfer-Encoding")
            || HTTPFields.namesEqual(name, "Host")
    }

    /// The host as written in a URL authority: brackets kept around IPv6 literals.
    private static func authorityHost(_ components: URLComponents) -> String {
        (URLHost.percentEncoded(components) ?? "").lowercased()
    }

    static func endpoint(_ components: URLComponents, defaultPort: Int) throws
        -> HTTPClientPreparedRequest.Endpoint
    {
        var host = authorityHost(components)
        let display: String
        let port = components.port ?? defaultPort
        guard (1...65535).contains(port) else {
            throw HTTPClientError.invalidURL(reason: "port \(port) out of range")
        }
        display = "\(host):\(port)"
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        host = PercentEncoding.decode(host) ?? host
        guard !host.isEmpty else { throw HTTPClientError.invalidURL(reason: "the URL has no host") }
        return HTTPClientPreparedRequest.Endpoint(host: host, port: port, display: display)
    }

    private static func proxyEndpoint(_ url: URL) throws -> (
        HTTPClientPreparedRequest.Endpoint, Redacted<String>?
    ) {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
            throw HTTPClientError.unsupportedProxy(
                proxy: "(unparsable URL)", reason: "cannot parse the proxy URL")
        }
        let endpoint = try endpoint(components, defaultPort: ProxySettings.defaultProxyPort)
        guard components.scheme?.lowercased() == "http" else {
            throw HTTPClientError.unsupportedProxy(
                proxy: endpoint.display,
                reason: "only http:// proxies are supported (HTTPS goes through CONNECT)")
        }
        var authorization: Redacted<String>?
        if let user = components.user {
            let credentials = "\(user):\(components.password ?? "")"
            authorization = Redacted("Basic " + Data(credentials.utf8).base64EncodedString())
        }
        return (endpoint, authorization)
    }
}
