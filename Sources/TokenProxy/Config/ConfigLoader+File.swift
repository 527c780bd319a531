import Glibc
import TokenProxyCore
import TokenProxyPosix

extension ConfigLoader {
    /// Reads and parses the file at `path`. Read failures become a `ConfigurationError` with
    /// one problem and an empty JSON path, so callers print every failure the same way.
    package static func load(path: String) throws(ConfigurationError) -> Configuration {
        try ConfigurationParser.parse(try read(path: path), file: path)
    }

    /// The file's bytes, at most `Limits.Config.maxFileBytes`, read through `FileReader` (symbolic links
    /// followed: configuration is often linked into /etc).
    static func read(path: String) throws(ConfigurationError) -> [UInt8] {
        func failure(_ message: String) -> ConfigurationError {
            ConfigurationError(
                file: path, problems: [ConfigurationProblem(path: "", message: message)])
        }
        do {
            return try FileReader.read(path: path, limit: Limits.Config.maxFileBytes)
        } catch let error as FileReadError {
            switch error {
            case .system(let system) where system.errno == ENOENT:
                throw failure(
                    "no such file; create it (config.sample.json shows every option) or name "
                        + "another with --config or $\(environmentVariable)")
            case .system(let system) where system.errno == EACCES:
                throw failure(
                    "permission denied; the file must be readable by the user tokenproxy runs as")
            case .system(let system):
                throw failure(
                    "cannot be read: \(system.reason) (\(system.call), errno \(system.errno))")
            case .notRegularFile(let status) where status.isDirectory:
                throw failure("is a directory; name the JSON file inside it")
            case .notRegularFile:
                throw failure("is not a regular file; name the JSON file itself")
            case .tooLarge(let size?, let limit):
                throw failure(
                    "is \(size) bytes; a configuration file may be at most \(limit) bytes")
            case .tooLarge(nil, let limit):
                throw failure(
                    "is larger than \(limit) bytes, the limit for a configuration file")
            }
        } catch {
            // FileReader.read throws only FileReadError without a check closure.
            throw failure("cannot be read: \(error)")
        }
    }
}
