/// `credentials.NAME.allow`: the local programs that may have this credential's token, on top
/// of being able to open the socket. A caller passes when it matches any one entry: its uid
/// (listed or named in `users`), any of its groups — primary *or supplementary* — (listed or
/// named in `groups`), or the systemd unit it runs in (`units`, from its cgroup).
///
/// Names stay names here: Core does no lookups. The daemon resolves `users` and `groups` when
/// it loads the file (`check` refuses a name the host does not know) into an ``AccessRule``.
package struct AllowConfiguration: Sendable, Equatable {
    package var users: [String]
    package var groups: [String]
    package var uids: [UInt32]
    package var gids: [UInt32]
    /// Unit names such as `billing.service`, matched exactly.
    package var units: [String]

    package init(
        users: [String] = [], groups: [String] = [], uids: [UInt32] = [], gids: [UInt32] = [],
        units: [String] = []
    ) {
        self.users = users
        self.groups = groups
        self.uids = uids
        self.gids = gids
        self.units = units
    }
}

/// The `operations` section: a TCP listener that serves only `/healthz`, `/readyz` and
/// `/metrics` — never a token — for kubelet probes and Prometheus scrapes.
package struct OperationsConfiguration: Sendable, Equatable {
    /// A numeric address (any interface: a pod IP or `0.0.0.0` is fine, nothing secret is
    /// served) and port; port 0 lets the kernel pick one (tests).
    package var host: String
    package var port: UInt16

    package init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }
}
