/// Finds the configuration file; reading it is `ConfigLoader.load(path:)`'s job in
/// `TokenProxy` (Core makes no system calls), parsing it `ConfigurationParser`'s.
package enum ConfigLoader {
    package static let defaultPath = "/etc/tokenproxy/config.json"
    /// The environment variable naming the file when `--config` is not given.
    package static let environmentVariable = "TOKENPROXY_CONFIG"

    /// `--config` if given, then `$TOKENPROXY_CONFIG` if set and not empty, then the default.
    package static func path(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return defaultPath
    }
}
