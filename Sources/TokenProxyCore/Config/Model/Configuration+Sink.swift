/// One file a credential's token is written to on every refresh (`credentials.NAME.sinks[i]`),
/// for programs that read a token file instead of asking the token API.
package struct SinkConfiguration: Sendable, Equatable {
    /// What the file holds.
    package enum Format: String, Sendable, CaseIterable {
        /// The bare token, no newline.
        case raw
        /// The token API's JSON answer (`access_token`, `token_type`, `expires_in`, `expires_at`…).
        case json
        /// `VARIABLE=token` and a newline, for `EnvironmentFile=` and `set -a; . file`.
        case env
        /// `Authorization: Bearer token` and a newline, for `curl -H @file`.
        case header
    }

    /// Absolute path of the file.
    package var path: String
    package var format: Format
    /// Permission bits of the file.
    package var mode: UInt32
    /// User (name or numeric id) to give the file to; needs the daemon to run as root.
    package var owner: String?
    /// Group (name or numeric id) of the file.
    package var group: String?
    /// The variable name in `env` format.
    package var variable: String
    /// Run after each write (argv, no shell); its failure is logged, never fatal.
    package var command: [String]
    /// The command is killed after this long.
    package var commandTimeout: Duration
    /// Remove the file when the daemon stops.
    package var removeOnExit: Bool

    package init(
        path: String, format: Format = .raw, mode: UInt32 = Limits.Sink.defaultMode,
        owner: String? = nil, group: String? = nil,
        variable: String = Limits.Sink.defaultVariable, command: [String] = [],
        commandTimeout: Duration = Limits.Sink.defaultCommandTimeout, removeOnExit: Bool = false
    ) {
        self.path = path
        self.format = format
        self.mode = mode
        self.owner = owner
        self.group = group
        self.variable = variable
        self.command = command
        self.commandTimeout = commandTimeout
        self.removeOnExit = removeOnExit
    }
}
