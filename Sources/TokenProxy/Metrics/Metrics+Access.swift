import Synchronization
import TokenProxyCore

/// Counters of the per-credential access check and the audit trail.
final class AccessCounters: Sendable {
    private let refused = Mutex<[String: Int]>([:])

    func recordRefused(credential: String) {
        refused.withLock { $0[credential, default: 0] += 1 }
    }

    /// `served`: the audit trail's totals (``TokenAudit/served()``), which counts them under
    /// the lock it takes anyway, so a token costs one lock, not two.
    func render(
        into out: inout PrometheusWriter,
        served: [(credential: String, uid: UInt32, count: Int)]
    ) {
        out.family(
            "tokenproxy_tokens_served_total", "counter",
            help: "Tokens handed out on the Unix socket, by credential and caller uid.")
        for entry in served {
            out.sample(
                "tokenproxy_tokens_served_total",
                ["credential": entry.credential, "uid": String(entry.uid)], entry.count)
        }
        out.counters(
            "tokenproxy_access_refused_total",
            help: "Requests refused by a credential's allow list.", label: "credential",
            refused.withLock { $0 })
        out.family(
            "tokenproxy_build_info", "gauge",
            help: "Always 1; the labels say which build is running.")
        out.sample(
            "tokenproxy_build_info",
            ["version": BuildInfo.version, "swift": BuildInfo.swiftVersion], 1)
    }
}
