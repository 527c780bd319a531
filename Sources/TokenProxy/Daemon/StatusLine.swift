import TokenProxyCore

/// The `STATUS=` text `systemctl status` shows, kept current while serving:
/// "2/3 tokens valid, next refresh in 1m12s; billing: unavailable".
enum StatusLine {
    static func text(_ statuses: [CredentialStatus]) -> String {
        let valid = statuses.filter(\.holdsUsefulToken).count
        var text = "\(valid)/\(statuses.count) tokens valid"
        if let next = statuses.compactMap(\.nextRefreshIn).min() {
            text += ", next refresh in \(duration(next))"
        }
        let failing = statuses.filter { !$0.holdsUsefulToken }.map { status in
            status.lastError.map { "\(status.name): \($0.category.rawValue)" } ?? status.name
        }
        if !failing.isEmpty { text += "; waiting for " + failing.joined(separator: ", ") }
        return text
    }

    /// `1h2m`, `4m10s`, `9s`.
    static func duration(_ value: Duration) -> String {
        let seconds = max(0, value.components.seconds)
        if seconds >= 3600 { return "\(seconds / 3600)h\(seconds % 3600 / 60)m" }
        if seconds >= 60 { return "\(seconds / 60)m\(seconds % 60)s" }
        return "\(seconds)s"
    }
}
