/// The daemon's validated configuration, built only by `ConfigurationParser`: if you hold one,
/// every field has passed its checks and every default has been applied.
///
/// Defaults live here in code; `config.sample.json` and `config.schema.json` document them.
package struct Configuration: Sendable, Equatable {
    /// The token API: Unix socket, optional loopback TCP listener, caller ACL.
    package var api: APIConfiguration
    /// In file order (names are unique), at least one.
    package var credentials: [CredentialConfiguration]
    package var log: LogConfiguration
    /// The injecting proxy; `nil` when the `proxy` section is absent (no proxy runs).
    package var proxy: ProxyConfiguration?
    /// The operations listener (`/healthz`, `/readyz`, `/metrics` only); `nil` when absent.
    package var operations: OperationsConfiguration?

    package init(
        api: APIConfiguration = .init(), credentials: [CredentialConfiguration],
        log: LogConfiguration = .init(), proxy: ProxyConfiguration? = nil,
        operations: OperationsConfiguration? = nil
    ) {
        self.api = api
        self.credentials = credentials
        self.log = log
        self.proxy = proxy
        self.operations = operations
    }

    /// The credential served at `/v1/tokens/{name}`.
    package func credential(named name: String) -> CredentialConfiguration? {
        credentials.first { $0.name == name }
    }
}

/// The `log` section.
package struct LogConfiguration: Sendable, Equatable {
    package var level: LogLevel

    package init(level: LogLevel = .info) { self.level = level }
}

/// Log levels by their swift-log names; Core does not import swift-log, the daemon maps them.
package enum LogLevel: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}
