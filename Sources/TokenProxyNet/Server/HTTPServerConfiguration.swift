import TokenProxyCore

/// Limits and timeouts of an `HTTPServer`. The defaults suit the token API: tiny requests from
/// local programs, many keep-alive connections, and no patience for slow or stuck clients.
package struct HTTPServerConfiguration: Sendable {

    /// Parser limits for request heads (`maxBodyBytes` is ignored: see `maxRequestBodyBytes`).
    package var limits: HTTPLimits
    /// Most open connections. A connection accepted beyond it is closed at once without a
    /// response, rather than left in the kernel's backlog: a client then fails fast (and can
    /// retry) instead of hanging on a server that will not get to it.
    package var maxConnections: Int
    /// The whole request head must arrive within this long: on a new connection counted from
    /// accept, on a keep-alive connection from the first byte of the next request. Expiry
    /// answers 408 and closes (a connection that sent nothing is just closed). This is the
    /// defence against slowloris clients.
    package var headerReadTimeout: Duration
    /// The whole request body must arrive within this long after its head (or after
    /// `100 Continue`). Expiry answers 408 and closes.
    package var bodyReadTimeout: Duration
    /// How long a keep-alive connection may sit between requests; expiry closes it silently.
    package var idleTimeout: Duration
    /// The longest a response may take to drain into the socket once the kernel's send buffer
    /// is full (a client that stopped reading). Expiry closes the connection.
    package var writeTimeout: Duration
    /// Largest request body, declared or counted. Over it: 413 (417 for `100-continue`), close.
    package var maxRequestBodyBytes: Int
    /// Close a connection after this many responses (nil: no limit).
    package var maxRequestsPerConnection: Int?
    /// How many event loops to run; nil: as many as the CPUs the process may use
    /// (`CPUBudget.measure`: affinity and cgroup quota).
    package var eventLoops: Int?

    package init(
        limits: HTTPLimits = HTTPLimits(),
        maxConnections: Int = Limits.Server.maxConnections,
        headerReadTimeout: Duration = Limits.Server.headerReadTimeout,
        bodyReadTimeout: Duration = Limits.Server.bodyReadTimeout,
        idleTimeout: Duration = Limits.Server.idleTimeout,
        writeTimeout: Duration = Limits.Server.writeTimeout,
        maxRequestBodyBytes: Int = Limits.Server.maxRequestBodyBytes,
        maxRequestsPerConnection: Int? = nil, eventLoops: Int? = nil
    ) {
        self.limits = limits
        self.maxConnections = maxConnections
        self.headerReadTimeout = headerReadTimeout
        self.bodyReadTimeout = bodyReadTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.maxRequestsPerConnection = maxRequestsPerConnection
        self.eventLoops = eventLoops
    }

    /// The state machine's share of the configuration.
    var stateMachineSettings: ServerConnection.StateMachine.Settings {
        ServerConnection.StateMachine.Settings(
            limits: limits, maxRequestBodyBytes: maxRequestBodyBytes,
            maxRequestsPerConnection: maxRequestsPerConnection)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating; negative durations count as zero.
    var clampedNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return UInt64.max / 2 }
        return whole + UInt64(attoseconds / 1_000_000_000)
    }
}
