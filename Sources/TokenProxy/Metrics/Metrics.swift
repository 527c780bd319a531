import FoundationEssentials
import Synchronization
import TokenProxyCore

/// Counters and histograms for `GET /metrics`, in the Prometheus text exposition format
/// (version 0.0.4). Updated from the token service's event hook and the token API; gauges
/// (seconds to expiry, state) are computed from status snapshots at scrape time.
package final class Metrics: Sendable {
    private struct FetchKey: Hashable {
        var credential: String
        var reason: String
        var outcome: String
    }

    private struct State {
        var fetches: [FetchKey: Int] = [:]
        var latency: [String: PrometheusHistogram] = [:]
        var expired: [String: Int] = [:]
    }

    /// Upper bounds of the IdP latency histogram, in seconds.
    static let latencyBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    private let state = Mutex(State())
    /// The proxy's counters (Metrics+Proxy.swift).
    let proxy = ProxyCounters()
    /// The access check's and audit trail's counters, and build info (Metrics+Access.swift).
    let access = AccessCounters()
    /// Introspection's counters (Introspection/IntrospectionCounters.swift).
    package let introspection = IntrospectionCounters()

    /// Read at every scrape once the daemon made its loops (`observeLoops`): the connections
    /// each event loop serves (`EventLoopGroup.connectionCounts`) and, optionally, how busy
    /// each is, per mille, in loop order. Nil leaves both loop families out.
    private let loops = Mutex<
        (counts: @Sendable () -> [Int], busyPermille: (@Sendable () -> [Int])?)?
    >(nil)

    package init() { statusCounterReferences = statusCounters.map { Unmanaged.passUnretained($0) } }

    /// Reports `counts()` — connections per event loop, in loop order — at every scrape as
    /// `tokenproxy_loop_connections{loop="N"}` (labels are loop indexes only).
    /// With `busyPermille`, also the share of its last 10 ms window each loop ran or waited
    /// to run, as
    /// `tokenproxy_loop_busy_ratio{loop="N"}` (0 to 1): whether the first loop is filling up
    /// (connections on a shared socket go to the first loop that is not busy).
    package func observeLoops(
        _ counts: @escaping @Sendable () -> [Int],
        busyPermille: (@Sendable () -> [Int])? = nil
    ) {
        loops.withLock { $0 = (counts, busyPermille) }
    }

    /// Records a token service event.
    package func record(_ event: TokenServiceEvent) {
        switch event {
        case .fetchStarted:
            break
        case .fetchSucceeded(let name, let reason, let latency, _):
            count(name, reason.rawValue, "success", latency: latency)
        case .fetchFailed(let name, let reason, let category, let latency, _, _):
            count(name, reason.rawValue, category.rawValue, latency: latency)
        case .tokenExpired(let name):
            state.withLock { $0.expired[name, default: 0] += 1 }
        }
    }

    /// One atomic counter per status code 100…599: recorded on every API request, so no lock.
    private final class StatusCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    private let statusCounters: [StatusCounter] = (100..<600).map { _ in StatusCounter() }
    /// `statusCounters`, unretained, for `recordRequest`: an element read from the array was
    /// retained and released around its increment (two atomic instructions more than the one
    /// counted). Sound: `statusCounters`, a `let`, holds every one while `self` lives.
    private let statusCounterReferences: [Unmanaged<StatusCounter>]

    /// Records an API response status.
    package func recordRequest(status: Int) {
        guard (100..<600).contains(status) else { return }
        statusCounterReferences[status - 100]._withUnsafeGuaranteedRef {
            _ = $0.value.wrappingAdd(1, ordering: .relaxed)
        }
    }

    private func count(_ name: String, _ reason: String, _ outcome: String, latency: Duration) {
        state.withLock { state in
            state.fetches[
                FetchKey(credential: name, reason: reason, outcome: outcome), default: 0] += 1
            state.latency[name, default: PrometheusHistogram(bounds: Self.latencyBuckets)]
                .observe(latency)
        }
    }

    /// The exposition text for the current values and `statuses`; `served` are the audit
    /// trail's totals by credential and caller uid.
    package func render(
        statuses: [CredentialStatus], introspectionEntries: Int? = nil,
        served: [(credential: String, uid: UInt32, count: Int)] = []
    ) -> String {
        let snapshot = state.withLock { $0 }
        var out = PrometheusWriter()
        out.family(
            "tokenproxy_token_expiry_seconds", "gauge",
            help: "Seconds until the served token expires (absent when none is valid).")
        for status in statuses {
            if status.holdsUsefulToken, let seconds = status.secondsToExpiry {
                out.sample(
                    "tokenproxy_token_expiry_seconds", ["credential": status.name],
                    PrometheusText.number(seconds))
            }
        }
        out.family(
            "tokenproxy_token_valid", "gauge",
            help: "Whether a valid token is held (1) or not (0).")
        for status in statuses {
            out.sample(
                "tokenproxy_token_valid", ["credential": status.name],
                status.holdsUsefulToken ? 1 : 0)
        }
        out.family(
            "tokenproxy_credential_state", "gauge",
            help: "The refresh state of each credential (1 for the current state).")
        for status in statuses {
            for state in CredentialState.allCases {
                out.sample(
                    "tokenproxy_credential_state",
                    ["credential": status.name, "state": state.rawValue],
                    status.state == state ? 1 : 0)
            }
        }
        out.family(
            "tokenproxy_credential_rejected", "gauge",
            help:
                "Whether the IdP rejected the credential on the last failed attempt since the last success (invalid_grant / invalid_client: key revoked or expired)."
        )
        for status in statuses {
            let rejected =
                status.consecutiveFailures > 0 && status.lastError?.category == .credentialRejected
            out.sample(
                "tokenproxy_credential_rejected", ["credential": status.name], rejected ? 1 : 0)
        }
        out.family(
            "tokenproxy_request_rejected", "gauge",
            help:
                "Whether the IdP rejected the token request itself on the last failed attempt since the last success (a 4xx such as invalid_scope or 404: fix the scope, grant or token endpoint)."
        )
        for status in statuses {
            let rejected =
                status.consecutiveFailures > 0 && status.lastError?.category == .requestRejected
            out.sample(
                "tokenproxy_request_rejected", ["credential": status.name], rejected ? 1 : 0)
        }
        out.family(
            "tokenproxy_token_fetches_total", "counter",
            help: "Token requests to the IdP by credential, reason and outcome.")
        for (key, value) in snapshot.fetches.sorted(by: { "\($0.key)" < "\($1.key)" }) {
            out.sample(
                "tokenproxy_token_fetches_total",
                ["credential": key.credential, "reason": key.reason, "outcome": key.outcome], value)
        }
        out.counters(
            "tokenproxy_token_expired_total",
            help: "Times a held token expired before a replacement arrived.", label: "credential",
            snapshot.expired)
        out.histograms(
            "tokenproxy_idp_request_duration_seconds",
            help: "Latency of token requests to the IdP.",
            label: "credential", snapshot.latency)
        out.family(
            "tokenproxy_api_requests_total", "counter", help: "Token API responses by status code.")
        for (index, counter) in statusCounters.enumerated() {
            let value = counter.value.load(ordering: .relaxed)
            if value > 0 {
                out.sample("tokenproxy_api_requests_total", ["code": String(index + 100)], value)
            }
        }
        let observed = loops.withLock { $0 }
        if let counts = observed?.counts() {
            out.perLoop(
                "tokenproxy_loop_connections",
                help:
                    "Client connections each event loop serves now (token API and proxy): how evenly they spread.",
                counts.map(String.init))
        }
        if let busy = observed?.busyPermille?() {
            out.perLoop(
                "tokenproxy_loop_busy_ratio",
                help:
                    "Share of its last 10 ms window each event loop ran or waited for a CPU (0 to 1); 0 once asleep that long.",
                busy.map(PrometheusText.permille))
        }
        proxy.render(into: &out)
        introspection.render(into: &out, cachedEntries: introspectionEntries)
        access.render(into: &out, served: served)
        return out.text
    }

}
