import Glibc
import TokenProxyCore
import TokenProxyPosix

/// A sink with its owner and group looked up, ready to write.
package struct ResolvedSink: Sendable, Equatable {
    /// The credential whose token goes there.
    package var credential: String
    package var configuration: SinkConfiguration
    package var ownership: FileWriter.Ownership

    /// Every sink of `configuration`, or the problems (unknown user or group, a path used by
    /// two credentials) with their JSON paths, as `check` and `serve` report them.
    package static func resolve(_ configuration: Configuration) -> Result<
        [ResolvedSink], ConfigurationError
    > {
        var sinks: [ResolvedSink] = []
        var problems: [ConfigurationProblem] = []
        var owners: [String: String] = [:]
        for entry in configuration.credentials {
            for (index, sink) in entry.sinks.enumerated() {
                let base = "credentials.\(entry.name).sinks[\(index)]"
                if let other = owners[sink.path] {
                    problems.append(
                        ConfigurationProblem(
                            path: "\(base).path",
                            message: "\(sink.path) is already the sink of credential '\(other)'"))
                    continue
                }
                owners[sink.path] = entry.name
                var ownership = FileWriter.Ownership(mode: sink.mode)
                if let owner = sink.owner {
                    switch lookUp(owner, Posix.userID(named:)) {
                    case .success(let id): ownership.owner = id
                    case .failure(let failure):
                        problems.append(
                            ConfigurationProblem(path: "\(base).owner", message: failure.message))
                    }
                }
                if let group = sink.group {
                    switch lookUp(group, Posix.groupID(named:)) {
                    case .success(let id): ownership.group = id
                    case .failure(let failure):
                        problems.append(
                            ConfigurationProblem(path: "\(base).group", message: failure.message))
                    }
                }
                sinks.append(
                    ResolvedSink(
                        credential: entry.name, configuration: sink, ownership: ownership))
            }
        }
        guard problems.isEmpty else {
            return .failure(ConfigurationError(file: "", problems: problems))
        }
        return .success(sinks)
    }

    private struct LookupFailure: Error {
        var message: String
    }

    private static func lookUp(
        _ text: String, _ find: (String) throws(PosixError) -> UInt32?
    ) -> Result<UInt32, LookupFailure> {
        if let id = UInt32(text) { return .success(id) }
        do {
            guard let id = try find(text) else {
                return .failure(
                    LookupFailure(
                        message:
                            "no user or group '\(text)' on this host: create it or use a numeric id"
                    ))
            }
            return .success(id)
        } catch {
            return .failure(LookupFailure(message: "cannot look up '\(text)': \(error)"))
        }
    }
}
