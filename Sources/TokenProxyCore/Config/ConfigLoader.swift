import Foundation

/// Finds and reads the configuration file; everything else is `ConfigurationParser`'s job.
package enum ConfigLoader {
    package static let defaultPath = "/etc/tokenproxy/config.json"
    /// The environment variable naming the file when `--config` is not given.
    package static let environmentVariable = "TOKENPROXY_CONFIG"
    /// A configuration is a few kilobytes; refusing anything past this keeps a wrong path (a log,
    /// a device) from being read into memory.
    package static let maximumFileBytes = 1 << 20

    /// `--config` if given, then `$TOKENPROXY_CONFIG` if set and not empty, then the default.
    package static func path(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return defaultPath
    }

    /// Reads and parses the file at `path`. Read failures become a `ConfigurationError` with
    /// one problem and an empty JSON path, so callers print every failure the same way.
    package static func load(path: String) throws(ConfigurationError) -> Configuration {
        try ConfigurationParser.parse(try read(path: path), file: path)
    }

    static func read(path: String) throws(ConfigurationError) -> [UInt8] {
        func failure(_ message: String) -> ConfigurationError {
            ConfigurationError(
                file: path, problems: [ConfigurationProblem(path: "", message: message)])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure(
                "no such file; create it (config.sample.json shows every option) or name another with "
                    + "--config or $\(environmentVariable)")
        }
        if isDirectory.boolValue { throw failure("is a directory; name the JSON file inside it") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if let size, size > maximumFileBytes {
            throw failure(
                "is \(size) bytes; a configuration file may be at most \(maximumFileBytes) bytes")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as CocoaError where error.code == .fileReadNoPermission {
            throw failure(
                "permission denied; the file must be readable by the user tokenproxy runs as")
        } catch {
            throw failure("cannot be read: \(error.localizedDescription)")
        }
        guard data.count <= maximumFileBytes else {
            throw failure(
                "is larger than \(maximumFileBytes) bytes, the limit for a configuration file")
        }
        return [UInt8](data)
    }
}
