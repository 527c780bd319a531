import Synchronization
import TokenProxyCore
import TokenProxyNet

/// Introspection's counters for `/metrics`: cache lookups by result (`hit`, `miss`,
/// `shared` — joined a request already in flight), IdP requests by outcome (`active`,
/// `inactive`, `unavailable`, `rejected`, `malformed`, `configuration`) and their latency.
/// Labels are credential names and fixed words: never anything from a token.
package final class IntrospectionCounters: Sendable {
    private struct Pair: Hashable, Comparable {
        var credential: String
        var label: String

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.credential, lhs.label) < (rhs.credential, rhs.label)
        }
    }

    private struct State {
        var lookups: [Pair: Int] = [:]
        var requests: [Pair: Int] = [:]
        var local: [Pair: Int] = [:]
        var latency: [String: PrometheusHistogram] = [:]
    }

    /// A pthread lock: see `Introspector`.
    private let state = ThreadLock(State())

    package init() {}

    func recordLookup(credential: String, result: String) {
        state.withLock { $0.lookups[Pair(credential: credential, label: result), default: 0] += 1 }
    }

    func recordLocal(credential: String, result: String) {
        state.withLock { $0.local[Pair(credential: credential, label: result), default: 0] += 1 }
    }

    func recordRequest(credential: String, outcome: String, latency: Duration) {
        state.withLock { state in
            state.requests[Pair(credential: credential, label: outcome), default: 0] += 1
            state.latency[credential, default: PrometheusHistogram(bounds: Metrics.latencyBuckets)]
                .observe(latency)
        }
    }

    /// Appends the introspection families to `out`.
    func render(into out: inout PrometheusWriter, cachedEntries: Int?) {
        let snapshot = state.withLock { $0 }
        out.family(
            "tokenproxy_introspection_cache_lookups_total", "counter",
            help:
                "Introspection lookups by credential and result (hit: from the cache; miss: asked the IdP; shared: joined an identical request in flight)."
        )
        for (key, value) in snapshot.lookups.sorted(by: { $0.key < $1.key }) {
            out.sample(
                "tokenproxy_introspection_cache_lookups_total",
                ["credential": key.credential, "result": key.label], value)
        }
        out.family(
            "tokenproxy_introspection_requests_total", "counter",
            help: "Introspection requests to the IdP by credential and outcome.")
        for (key, value) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            out.sample(
                "tokenproxy_introspection_requests_total",
                ["credential": key.credential, "outcome": key.label], value)
        }
        out.family(
            "tokenproxy_jwt_validations_total", "counter",
            help: "JWT access tokens validated locally (jwt modes) by credential and result.")
        for (key, value) in snapshot.local.sorted(by: { $0.key < $1.key }) {
            out.sample(
                "tokenproxy_jwt_validations_total",
                ["credential": key.credential, "result": key.label], value)
        }
        out.histograms(
            "tokenproxy_introspection_request_duration_seconds",
            help: "Latency of introspection requests to the IdP.", label: "credential",
            snapshot.latency)
        if let cachedEntries {
            out.family(
                "tokenproxy_introspection_cache_entries", "gauge",
                help: "Introspection answers held in the cache.")
            out.sample("tokenproxy_introspection_cache_entries", [:], cachedEntries)
        }
    }
}
