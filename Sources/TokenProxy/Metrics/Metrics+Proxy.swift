import Synchronization
import TokenProxyCore
import TokenProxyNet

/// The proxy's counters, held by `Metrics` and rendered with the rest of `/metrics`.
///
/// Counted in shards, one per event loop (`ProxyEvent.loop`; `Limits.Proxy.counterShards`):
/// a loop records into its own shard under that shard's lock, which no other loop takes, and
/// rendering sums the shards. One lock for all loops was a `pthread_rwlock` write lock per
/// proxied request (~390 instructions, and a cache line moving between the loops' cores).
package final class ProxyCounters: Sendable {
    private struct RequestKey: Hashable, Comparable {
        var route: String
        var method: String
        var code: Int

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.route, lhs.method, lhs.code) < (rhs.route, rhs.method, rhs.code)
        }
    }

    /// One route's counters. Requests by (method, code) are a short list searched in place:
    /// a route sees few combinations, and hashing two strings per request into a dictionary
    /// keyed by route, method and code (and again per family) was most of recording's cost.
    private struct RouteState {
        var requests: [(method: String, code: Int, count: Int)] = []
        var failures = 0
        var retries = 0
        var durations = PrometheusHistogram(bounds: ProxyCounters.durationBuckets)

        mutating func record(
            status: Int, failed: Bool, retried: Bool, nanoseconds: UInt64, method: String
        ) {
            count(method: method, code: status)
            if failed { failures += 1 }
            if retried { retries += 1 }
            durations.observe(nanoseconds: nanoseconds)
        }

        mutating func count(method: String, code: Int, by amount: Int = 1) {
            for index in requests.indices
            where requests[index].code == code && requests[index].method == method {
                requests[index].count += amount
                return
            }
            requests.append((method, code, amount))
        }

        /// Adds another shard's counts of the same route.
        mutating func add(_ other: RouteState) {
            for entry in other.requests {
                count(method: entry.method, code: entry.code, by: entry.count)
            }
            failures += other.failures
            retries += other.retries
            durations.add(other.durations)
        }
    }

    private struct State {
        /// By route name (`none`: refused before routing): the position in `states`.
        var positions: [String: Int] = [:]
        var names: [String] = []
        var states: [RouteState] = []
        /// The position recorded last: a route's requests tend to follow each other, and a
        /// name compared with the one stored (usually the same string storage: the route's
        /// compiled name) costs less than hashing it.
        var last = 0

        mutating func record(
            status: Int, failed: Bool, retried: Bool, nanoseconds: UInt64, route: String,
            method: String
        ) {
            if last < names.count && names[last] == route {
                states[last].record(
                    status: status, failed: failed, retried: retried, nanoseconds: nanoseconds,
                    method: method)
                return
            }
            if let position = positions[route] {
                last = position
            } else {
                last = names.count
                positions[route] = last
                names.append(route)
                states.append(RouteState())
            }
            states[last].record(
                status: status, failed: failed, retried: retried, nanoseconds: nanoseconds,
                method: method)
        }

        var routes: [String: RouteState] {
            Dictionary(uniqueKeysWithValues: zip(names, states))
        }
    }

    /// Upper bounds of the request duration histogram, in seconds.
    static let durationBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]

    /// One loop's counters. A class each, so that shards are separate allocations.
    private final class Shard: Sendable {
        /// `Mutex`: uncontended (its loop alone records here), a lock is one atomic
        /// compare-exchange and an unlock one more.
        let state = Mutex(State())
    }

    private let shards: [Shard] = (0..<Limits.Proxy.counterShards).map { _ in Shard() }
    /// `shards`, unretained, for `record`: an element read from `shards` was retained and
    /// released around its lock (an atomic pair per request), an `Unmanaged` is a plain
    /// value. Sound: `shards`, a `let`, holds every one for as long as `self` lives.
    private let shardReferences: [Unmanaged<Shard>]

    package init() {
        shardReferences = shards.map { Unmanaged.passUnretained($0) }
    }

    /// The method's label: methods outside the known set are counted as `other`, so clients
    /// cannot grow the label set. A `switch`, not a `Set` lookup: no hashing per request.
    static func methodLabel(_ method: String) -> String {
        switch method {
        case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
            return method
        default:
            return "other"
        }
    }

    func record(_ event: ProxyEvent) {
        record(
            route: event.routeName, method: event.method, status: event.status,
            failed: event.failure != nil, retried: event.retriedAfterUnauthorized,
            nanoseconds: event.durationNanoseconds, loop: event.loop)
    }

    /// `record` of an event given in parts (the proxy's success path builds no event).
    func record(
        route routeName: String, method: String, status: Int, failed: Bool, retried: Bool,
        nanoseconds: UInt64, loop: Int
    ) {
        let route = routeName.isEmpty ? "none" : routeName
        let method = Self.methodLabel(method)
        let shard = shardReferences[Int(UInt(bitPattern: loop) % UInt(shardReferences.count))]
        // Unsafe only in that nothing retains the shard for the call: `shards` does.
        shard._withUnsafeGuaranteedRef {
            $0.state.withLock { state in
                // At most one hash of the route per request; everything else in place.
                state.record(
                    status: status, failed: failed, retried: retried, nanoseconds: nanoseconds,
                    route: route, method: method)
            }
        }
    }

    /// Appends the proxy metric families (exposition format 0.0.4) to `out`.
    func render(into out: inout PrometheusWriter) {
        var routes: [String: RouteState] = [:]
        for shard in shards {
            for (route, counters) in shard.state.withLock({ $0.routes }) {
                if routes[route] == nil {
                    routes[route] = counters
                } else {
                    routes[route]!.add(counters)
                }
            }
        }
        var snapshot = (
            requests: [RequestKey: Int](), failures: [String: Int](), retries: [String: Int](),
            durations: [String: PrometheusHistogram]()
        )
        for (route, counters) in routes {
            for entry in counters.requests {
                snapshot.requests[
                    RequestKey(route: route, method: entry.method, code: entry.code)] =
                    entry.count
            }
            if counters.failures > 0 { snapshot.failures[route] = counters.failures }
            if counters.retries > 0 { snapshot.retries[route] = counters.retries }
            snapshot.durations[route] = counters.durations
        }
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
