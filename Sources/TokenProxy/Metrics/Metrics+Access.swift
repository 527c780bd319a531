import Synchronization
import TokenProxyCore

/// Counters of the per-credential access check and the audit trail.
final class AccessCounters: Sendable {
    struct Served: Hashable {
        var credential: String
        var uid: UInt32
    }

    struct State {
        var served: [Served: Int] = [:]
        var refused: [String: Int] = [:]
    }

    private let state = Mutex(State())

    func recordServed(credential: String, uid: UInt32) {
        state.withLock { $0.served[Served(credential: credential, uid: uid), default: 0] += 1 }
    }

    func recordRefused(credential: String) {
        state.withLock { $0.refused[credential, default: 0] += 1 }
    }

    func render(into out: inout PrometheusWriter) {
        let snapshot = state.withLock { $0 }
        out.family(
            "tokenproxy_tokens_served_total", "counter",
            help: "Tokens handed out on the Unix socket, by credential and caller uid.")
        for (key, value) in snapshot.served.sorted(by: {
            ($0.key.credential, $0.key.uid) < ($1.key.credential, $1.key.uid)
        }) {
            out.sample(
                "tokenproxy_tokens_served_total",
                ["credential": key.credential, "uid": String(key.uid)], value)
        }
        out.counters(
            "tokenproxy_access_refused_total",
            help: "Requests refused by a credential's allow list.", label: "credential",
            snapshot.refused)
        out.family(
            "tokenproxy_build_info", "gauge",
            help: "Always 1; the labels say which build is running.")
        out.sample(
            "tokenproxy_build_info",
            ["version": BuildInfo.version, "swift": BuildInfo.swiftVersion], 1)
    }
}
