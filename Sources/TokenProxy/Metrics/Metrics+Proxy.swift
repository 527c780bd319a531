import Synchronization
import TokenProxyNet

/// The proxy's counters, held by `Metrics` and rendered with the rest of `/metrics`.
package final class ProxyCounters: Sendable {
    private struct RequestKey: Hashable, Comparable {
        var route: String
        var method: String
        var code: Int

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.route, lhs.method, lhs.code) < (rhs.route, rhs.method, rhs.code)
        }
    }

    private struct State {
        var requests: [RequestKey: Int] = [:]
        var failures: [String: Int] = [:]
        var retries: [String: Int] = [:]
        var durations: [String: PrometheusHistogram] = [:]
    }

    /// Upper bounds of the request duration histogram, in seconds.
    static let durationBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]

    private let state = ThreadLock(State())

    package init() {}

    /// Methods outside this set are counted as `other`, so clients cannot grow the label set.
    private static let knownMethods: Set<String> = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ]

    func record(_ event: ProxyEvent) {
        let route = event.routeName.isEmpty ? "none" : event.routeName
        let method = Self.knownMethods.contains(event.method) ? event.method : "other"
        state.withLock { state in
            state.requests[
                RequestKey(route: route, method: method, code: event.status), default: 0] += 1
            if event.failure != nil { state.failures[route, default: 0] += 1 }
            if event.retriedAfterUnauthorized { state.retries[route, default: 0] += 1 }
            state.durations[route, default: PrometheusHistogram(bounds: Self.durationBuckets)]
                .observe(event.duration)
        }
    }

    /// Appends the proxy metric families (exposition format 0.0.4) to `out`.
    func render(into out: inout PrometheusWriter) {
        let snapshot = state.withLock { $0 }
        out.family(
            "tokenproxy_proxy_requests_total", "counter",
            help: "Proxied requests by route, method and status code.")
        for (key, value) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            out.sample(
                "tokenproxy_proxy_requests_total",
                ["route": key.route, "method": key.method, "code": String(key.code)], value)
        }
        out.counters(
            "tokenproxy_proxy_failures_total",
            help:
                "Exchanges that failed (upstream unreachable, TLS, timeout, malformed request, client gone) by route (none: refused before routing).",
            label: "route", snapshot.failures)
        out.counters(
            "tokenproxy_proxy_unauthorized_retries_total",
            help: "Requests replayed with a fresh token after a 401 from the upstream.",
            label: "route", snapshot.retries)
        out.histograms(
            "tokenproxy_proxy_request_duration_seconds",
            help: "Time from request head to the end of the response.", label: "route",
            snapshot.durations)
    }
}

extension Metrics {
    /// Records one finished proxy exchange.
    package func recordProxy(_ event: ProxyEvent) { proxy.record(event) }
}
