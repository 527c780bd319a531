import Testing
import TokenProxyCore

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct MetricsTests {
    @Test func rendersTokenFamiliesWithEscapedLabels() {
        let metrics = Metrics()
        let name = "we\"ird\\name"
        metrics.record(
            .fetchSucceeded(
                name: name, reason: .initial, latency: .milliseconds(30), lifetime: .seconds(60)))
        metrics.record(.tokenExpired(name: name))
        metrics.record(.tokenExpired(name: name))
        metrics.recordRequest(status: 200)
        metrics.recordRequest(status: 200)
        metrics.recordRequest(status: 503)
        let text = metrics.render(statuses: [])
        let label = #"credential="we\"ird\\name""#
        #expect(text.contains("# TYPE tokenproxy_token_fetches_total counter\n"))
        #expect(
            text.contains(
                #"tokenproxy_token_fetches_total{\#(label),reason="initial",outcome="success"} 1"#))
        #expect(text.contains("tokenproxy_token_expired_total{\(label)} 2\n"))
        #expect(
            text.contains(#"tokenproxy_idp_request_duration_seconds_bucket{\#(label),le="0.05"} 1"#)
        )
        #expect(
            text.contains(
                #"tokenproxy_idp_request_duration_seconds_bucket{\#(label),le="0.025"} 0"#))
        #expect(text.contains("tokenproxy_idp_request_duration_seconds_count{\(label)} 1\n"))
        #expect(text.contains(#"tokenproxy_api_requests_total{code="200"} 2"#))
        #expect(text.contains(#"tokenproxy_api_requests_total{code="503"} 1"#))
        #expect(!text.contains(#"code="404""#))
        // Every sample line belongs to a family announced before it.
        var announced: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                announced.insert(String(line.split(separator: " ")[2]))
            } else if !line.hasPrefix("#") {
                let metric = String(line.prefix { $0 != "{" && $0 != " " })
                let family = ["_bucket", "_sum", "_count"].reduce(metric) {
                    $0.hasSuffix($1) && !announced.contains($0) ? String($0.dropLast($1.count)) : $0
                }
                #expect(announced.contains(family), "\(line)")
            }
        }
    }

    @Test func rendersConnectionsPerLoopOnceTheLoopsAreObserved() {
        let metrics = Metrics()
        #expect(!metrics.render(statuses: []).contains("tokenproxy_loop_connections"))
        metrics.observeLoops { [3, 0] }
        let text = metrics.render(statuses: [])
        #expect(text.contains("# TYPE tokenproxy_loop_connections gauge\n"))
        #expect(text.contains("tokenproxy_loop_connections{loop=\"0\"} 3\n"))
        #expect(text.contains("tokenproxy_loop_connections{loop=\"1\"} 0\n"))
        #expect(!text.contains("tokenproxy_loop_busy_ratio"))
    }

    @Test func rendersEachLoopsBusyShareAsAFraction() {
        let metrics = Metrics()
        metrics.observeLoops({ [3, 0, 1] }, busyPermille: { [437, 0, 1_000] })
        let text = metrics.render(statuses: [])
        #expect(text.contains("# TYPE tokenproxy_loop_busy_ratio gauge\n"))
        #expect(text.contains("tokenproxy_loop_busy_ratio{loop=\"0\"} 0.437\n"))
        #expect(text.contains("tokenproxy_loop_busy_ratio{loop=\"1\"} 0.000\n"))
        #expect(text.contains("tokenproxy_loop_busy_ratio{loop=\"2\"} 1.000\n"))
        #expect(PrometheusText.permille(5) == "0.005")
        #expect(PrometheusText.permille(50) == "0.050")
    }
}
