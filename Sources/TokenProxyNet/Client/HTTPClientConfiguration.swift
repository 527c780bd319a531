import TokenProxyCore
import TokenProxyCrypto

/// How an `HTTPClient` connects, how long it waits and how much it accepts.
package struct HTTPClientConfiguration: Sendable {
    /// Budget for establishing a connection: TCP connect, proxy CONNECT and TLS handshake
    /// (as curl's `--connect-timeout`). Capped by `totalTimeout`.
    package var connectTimeout: Duration
    /// Budget for the whole exchange, from `execute` to the last body byte.
    package var totalTimeout: Duration
    package var tls: TLSClientConfiguration
    package var proxy: ProxySettings
    /// Largest response body `execute` buffers; a larger one fails with `responseTooLarge`.
    package var maxResponseBodyBytes: Int
    /// Sent as `User-Agent` unless the request has one.
    package var userAgent: String
    /// How long a kept-alive connection may sit unused in the pool before it is closed
    /// instead of reused (servers commonly close idle connections after 5–60 s).
    package var idleConnectionTimeout: Duration
    /// Most idle connections kept per (scheme, host, port, proxy); 0 disables reuse.
    package var maxIdleConnectionsPerHost: Int
    /// Head limits applied to responses.
    package var responseLimits: HTTPLimits

    package init(
        connectTimeout: Duration = Limits.IdP.connectTimeout,
        totalTimeout: Duration = Limits.IdP.totalTimeout,
        tls: TLSClientConfiguration = .init(), proxy: ProxySettings = .none,
        maxResponseBodyBytes: Int = 1 << 20, userAgent: String = "tokenproxy",
        idleConnectionTimeout: Duration = Limits.IdP.idleConnectionTimeout,
        maxIdleConnectionsPerHost: Int = Limits.IdP.maxIdleConnectionsPerHost,
        responseLimits: HTTPLimits = HTTPLimits()
    ) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.tls = tls
        self.proxy = proxy
        self.maxResponseBodyBytes = maxResponseBodyBytes
        self.userAgent = userAgent
        self.idleConnectionTimeout = idleConnectionTimeout
        self.maxIdleConnectionsPerHost = maxIdleConnectionsPerHost
        self.responseLimits = responseLimits
    }
}
