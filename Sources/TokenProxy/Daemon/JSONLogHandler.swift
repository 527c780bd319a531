import FoundationEssentials
import Logging
import TokenProxyCore
import TokenProxyPosix

/// `--log-format json`: one JSON object per line on stderr, for log shippers (Kubernetes,
/// Vector, Loki). The fields are the journal's (`JournalLogHandler`), lower-case and without
/// the `TP_` prefix: `time` (RFC 3339, UTC, milliseconds), `level`, `message`, `logger`, then
/// the metadata (`credential`, `category`, `error`, …), so a failure is one object whose
/// category and error text are fields.
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable (String) -> Void

    package init(
        label: String,
        write: @escaping @Sendable (String) -> Void = { StandardStreams.writeError($0) }
    ) {
        self.label = label
        self.write = write
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var members: [(String, String)] = [
            ("time", JSONText.string(Self.timestamp(Date()))),
            ("level", JSONText.string(event.level.rawValue)),
            ("message", JSONText.string(event.message.description)),
            ("logger", JSONText.string(label)),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let reserved: Set<String> = ["time", "level", "message", "logger"]
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !reserved.contains(key) {
            members.append((key, JSONText.string("\(value)")))
        }
        write(JSONText.object(members) + "\n")
    }

    /// `2026-12-03T17:27:01.123Z`.
    static func timestamp(_ date: Date) -> String {
        date.formatted(
            Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}
