/// The `api` section: where local programs ask for tokens, and who may.
package struct APIConfiguration: Sendable, Equatable {
    package static let defaultSocket = "/run/tokenproxy/tokenproxy.sock"
    /// Owner and group may connect; together with `socketGroup` that is the coarse ACL.
    package static let defaultSocketMode: UInt32 = 0o660
    /// Absolute path of the Unix socket serving the token API.
    package var socket: String
    /// Permission bits applied to the socket file (only the low 9 bits).
    package var socketMode: UInt32
    /// Group given to the socket file; `nil` keeps the daemon's group.
    package var socketGroup: String?
    /// Peer uids (from `SO_PEERCRED`) allowed to call; empty means anyone who can open the socket.
    package var allowedUIDs: [UInt32]
    /// Peer gids allowed to call; a caller passes if its uid or its gid is listed.
    package var allowedGIDs: [UInt32]
    /// An optional loopback TCP listener for programs that cannot speak to a Unix socket.
    package var tcp: TCPListenerConfiguration?
    /// How many event loops serve the token API; nil: the CPUs the process may use (affinity
    /// and cgroup v2 quota, see `CPUBudget`).
    package var eventLoops: Int?
    /// How long an event loop polls for events at most before it sleeps, in microseconds
    /// (`api.busy_poll_us`; 0: never); nil: the default, off under a cgroup CPU quota
    /// (`CPUBudget.busyPollMicroseconds`).
    package var busyPollMicroseconds: Int?
    /// Client connections held at once over all of the API's listeners; one more is closed at
    /// once (config: `api.max_connections`).
    package var maxConnections: Int

    package init(
        socket: String = defaultSocket, socketMode: UInt32 = defaultSocketMode,
        socketGroup: String? = nil,
        allowedUIDs: [UInt32] = [], allowedGIDs: [UInt32] = [],
        tcp: TCPListenerConfiguration? = nil,
        maxConnections: Int = Limits.Server.maxConnections,
        eventLoops: Int? = nil
    ) {
        self.socket = socket
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.allowedUIDs = allowedUIDs
        self.allowedGIDs = allowedGIDs
        self.tcp = tcp
        self.eventLoops = eventLoops
        self.maxConnections = maxConnections
    }

    /// True when no per-caller ACL is configured.
    package var allowsAnyPeer: Bool { allowedUIDs.isEmpty && allowedGIDs.isEmpty }
}

/// `api.tcp`: a loopback-only TCP listener. Peer credentials do not exist on TCP, so every
/// request must carry a fixed header: a browser or an SSRF-tricked local service cannot add
/// it, which is the same defence cloud metadata servers use (`Metadata-Flavor: Google`).
package struct TCPListenerConfiguration: Sendable, Equatable {
    package static let defaultRequiredHeader = "Metadata-Flavor"
    package static let defaultRequiredHeaderValue = "tokenproxy"

    /// A loopback address literal: `127.0.0.0/8` or `::1` (without brackets).
    package var host: String
    /// 0 lets the kernel pick a free port (useful in tests).
    package var port: UInt16
    package var requiredHeader: String
    package var requiredHeaderValue: String

    package init(
        host: String, port: UInt16, requiredHeader: String = defaultRequiredHeader,
        requiredHeaderValue: String = defaultRequiredHeaderValue
    ) {
        self.host = host
        self.port = port
        self.requiredHeader = requiredHeader
        self.requiredHeaderValue = requiredHeaderValue
    }
}
