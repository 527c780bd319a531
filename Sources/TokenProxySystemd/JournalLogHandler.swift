internal import CSystemd
import FoundationEssentials
import Glibc
import Logging
import TokenProxyPosix

/// A swift-log handler that writes structured entries to the systemd journal: the message as
/// `MESSAGE`, the level as syslog `PRIORITY`, metadata as upper-cased fields
/// (`credential` → `TP_CREDENTIAL`), so `journalctl -u tokenproxy TP_CREDENTIAL=gateway` works.
package struct JournalLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    private let label: String

    package init(label: String) { self.label = label }

    /// True when stderr is connected to the journal (systemd sets `JOURNAL_STREAM` to the
    /// device and inode of that stream; a redirected stderr no longer matches).
    package static var stderrIsJournal: Bool {
        guard let value = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else {
            return false
        }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else {
            return false
        }
        guard let info = try? Posix.status(2) else { return false }
        return info.device == device && info.inode == inode
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(Self.priority(event.level))",
            "SYSLOG_IDENTIFIER=tokenproxy",
            "TP_LOGGER=\(label)",
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged {
            fields.append("TP_\(Self.fieldName(key))=\(value)")
        }
        Self.send(fields)
    }

    /// Journal field names: upper-case letters, digits and underscores.
    static func fieldName(_ key: String) -> String {
        String(
            key.uppercased().map { character in
                character.isLetter && character.isASCII || character.isNumber ? character : "_"
            })
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// The corresponding C function is `sd_journal_sendv` (the variadic `sd_journal_send`
    /// cannot be called from Swift).
    private static func send(_ fields: [String]) {
        // Copies with stable addresses for the duration of the call; a field cannot contain
        // NUL (swift-log messages and our metadata never do), so C strings are enough.
        let copies = fields.compactMap { strdup($0) }
        defer { copies.forEach { free($0) } }
        let vectors = copies.map {
            iovec(iov_base: UnsafeMutableRawPointer($0), iov_len: strlen($0))
        }
        _ = sd_journal_sendv(vectors, Int32(vectors.count))
    }
}
