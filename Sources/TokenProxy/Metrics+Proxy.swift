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
        var durationBuckets: [String: [Int]] = [:]
        var durationCount: [String: Int] = [:]
        var durationSum: [String: Double] = [:]
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
        let seconds =
            Double(event.duration.components.seconds) + Double(
                event.duration.components.attoseconds) / 1e18
        state.withLock { state in
            state.requests[
                RequestKey(route: route, method: method, code: event.status), default: 0] += 1
            if event.failure != nil { state.failures[route, default: 0] += 1 }
            if event.retriedAfterUnauthorized { state.retries[route, default: 0] += 1 }
            var buckets =
                state.durationBuckets[route]
                ?? Array(repeating: 0, count: Self.durationBuckets.count)
            for (index, bound) in Self.durationBuckets.enumerated() where seconds <= bound {
                buckets[index] += 1
            }
            state.durationBuckets[route] = buckets
            state.durationCount[route, default: 0] += 1
            state.durationSum[route, default: 0] += seconds
        }
    }

    /// The exposition text (format 0.0.4) of the proxy metrics.
    func render() -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        out +=
            "# HELP tokenproxy_proxy_requests_total Proxied requests by route, method and status code.\n"
        out += "# TYPE tokenproxy_proxy_requests_total counter\n"
        for (key, value) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            out +=
                "tokenproxy_proxy_requests_total{route=\"\(label(key.route))\",method=\"\(key.method)\",code=\"\(key.code)\"} \(value)\n"
        }
        out +=
            "# HELP tokenproxy_proxy_failures_total Exchanges that failed (upstream unreachable, TLS, timeout, malformed request, client gone) by route (none: refused before routing).\n"
        out += "# TYPE tokenproxy_proxy_failures_total counter\n"
        for (route, value) in snapshot.failures.sorted(by: { $0.key < $1.key }) {
            out += "tokenproxy_proxy_failures_total{route=\"\(label(route))\"} \(value)\n"
        }
        out +=
            "# HELP tokenproxy_proxy_unauthorized_retries_total Requests replayed with a fresh token after a 401 from the upstream.\n"
        out += "# TYPE tokenproxy_proxy_unauthorized_retries_total counter\n"
        for (route, value) in snapshot.retries.sorted(by: { $0.key < $1.key }) {
            out +=
                "tokenproxy_proxy_unauthorized_retries_total{route=\"\(label(route))\"} \(value)\n"
        }
        out +=
            "# HELP tokenproxy_proxy_request_duration_seconds Time from request head to the end of the response.\n"
        out += "# TYPE tokenproxy_proxy_request_duration_seconds histogram\n"
        for (route, buckets) in snapshot.durationBuckets.sorted(by: { $0.key < $1.key }) {
            let name = label(route)
            for (index, bound) in Self.durationBuckets.enumerated() {
                out +=
                    "tokenproxy_proxy_request_duration_seconds_bucket{route=\"\(name)\",le=\"\(bound)\"} \(buckets[index])\n"
            }
            let count = snapshot.durationCount[route] ?? 0
            out +=
                "tokenproxy_proxy_request_duration_seconds_bucket{route=\"\(name)\",le=\"+Inf\"} \(count)\n"
            out +=
                "tokenproxy_proxy_request_duration_seconds_sum{route=\"\(name)\"} \(snapshot.durationSum[route] ?? 0)\n"
            out += "tokenproxy_proxy_request_duration_seconds_count{route=\"\(name)\"} \(count)\n"
        }
        return out
    }

    /// Label values escape backslash, quote and newline (exposition format).
    private func label(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
            of: "\"", with: "\\\""
        )
        .replacingOccurrences(of: "\n", with: "\\n")
    }
}

extension Metrics {
    /// Records one finished proxy exchange.
    package func recordProxy(_ event: ProxyEvent) { proxy.record(event) }
}
