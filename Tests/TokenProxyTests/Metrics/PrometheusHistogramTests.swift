import Testing
import TokenProxyCore
import TokenProxyNet

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct PrometheusHistogramTests {
    @Test func bucketsAreCumulativeAndABoundBelongsToItsBucket() {
        var histogram = PrometheusHistogram(bounds: [0.005, 0.01, 0.1])
        histogram.observe(nanoseconds: 1_000)  // 1 µs
        histogram.observe(nanoseconds: 5_000_000)  // exactly 5 ms: le="0.005"
        histogram.observe(nanoseconds: 5_000_001)
        histogram.observe(nanoseconds: 2_000_000_000)  // above every bound: +Inf only
        #expect(histogram.buckets == [2, 3, 3])
        #expect(histogram.count == 4)
        #expect(histogram.sum == 2.010001001)
        let text = histogram.render("t", label: "route", value: "r")
        #expect(text.contains(#"t_bucket{route="r",le="0.005"} 2"#))
        #expect(text.contains(#"t_bucket{route="r",le="0.1"} 3"#))
        #expect(text.contains(#"t_bucket{route="r",le="+Inf"} 4"#))
        #expect(text.contains(#"t_count{route="r"} 4"#))
    }

    @Test func aDurationCountsAsItsNanoseconds() {
        var fromDuration = PrometheusHistogram(bounds: [0.005, 0.01, 0.1])
        var fromNanoseconds = fromDuration
        for duration: Duration in [.milliseconds(5), .microseconds(5_001), .seconds(3), .zero] {
            fromDuration.observe(duration)
            let (seconds, attoseconds) = duration.components
            fromNanoseconds.observe(
                nanoseconds: UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
        }
        #expect(fromDuration.buckets == fromNanoseconds.buckets)
        #expect(fromDuration.buckets == [2, 3, 3])
        #expect(fromDuration.sum == fromNanoseconds.sum)
        fromDuration.observe(.milliseconds(-1))  // a clock step backwards counts as zero
        #expect(fromDuration.buckets == [3, 4, 4])
    }
}

/// `ProxyCounters` keeps routes in a list with a hint for the last one: interleaved routes,
/// a route seen again after others, and the unrouted `none` must each keep their own counts.
@Suite(.timeLimit(.minutes(1)))
struct ProxyCountersRouteTests {
    private func event(
        _ route: String, status: Int = 200, milliseconds: Int64 = 1, loop: Int = 0,
        failure: String? = nil, retried: Bool = false
    ) -> ProxyEvent {
        ProxyEvent(
            routeName: route, method: "GET", status: status, failure: failure,
            retriedAfterUnauthorized: retried,
            durationNanoseconds: UInt64(milliseconds) * 1_000_000, loop: loop)
    }

    /// Each loop counts in its own shard (loops past the shard count share one); `/metrics`
    /// shows their sums, as if one counter had seen every event.
    @Test func sumsTheCountsOfEveryLoop() {
        let metrics = Metrics()
        let loops = [0, 1, 2, Limits.Proxy.counterShards, Limits.Proxy.counterShards + 1, 1]
        for loop in loops { metrics.recordProxy(event("a", loop: loop)) }
        metrics.recordProxy(event("a", status: 502, milliseconds: 30, loop: 3, failure: "x"))
        metrics.recordProxy(event("b", loop: 5, retried: true))
        metrics.recordProxy(event("b", loop: 6, retried: true))
        let text = metrics.render(statuses: [])
        #expect(
            text.contains(#"tokenproxy_proxy_requests_total{route="a",method="GET",code="200"} 6"#))
        #expect(
            text.contains(#"tokenproxy_proxy_requests_total{route="a",method="GET",code="502"} 1"#))
        #expect(
            text.contains(#"tokenproxy_proxy_requests_total{route="b",method="GET",code="200"} 2"#))
        #expect(text.contains(#"tokenproxy_proxy_failures_total{route="a"} 1"#))
        #expect(text.contains(#"tokenproxy_proxy_unauthorized_retries_total{route="b"} 2"#))
        #expect(
            text.contains(
                #"tokenproxy_proxy_request_duration_seconds_bucket{route="a",le="0.025"} 6"#))
        #expect(text.contains(#"tokenproxy_proxy_request_duration_seconds_count{route="a"} 7"#))
        #expect(text.contains(#"tokenproxy_proxy_request_duration_seconds_sum{route="a"} 0.036"#))
    }

    /// The engine's success path (the route's reporter told in parts, no event) counts as
    /// `completed` with the same event does, through the router as the daemon wires it.
    @Test func aSuccessInPartsCountsAsItsEvent() throws {
        func router(_ metrics: Metrics) throws -> ProxyRouter {
            try Self.router(metrics, prefixes: ["/api/"])
        }
        let inParts = Metrics()
        let asEvents = Metrics()
        let parts = try router(inParts).reporter
        let events = try router(asEvents)
        let cases = [
            ("a", 200, false, 0), ("a", 404, true, 1), ("", 200, false, 2),
            ("b", 201, false, Limits.Proxy.counterShards),
        ]
        for (route, status, retried, loop) in cases {
            parts.succeeded(
                route: route, method: "GET", status: status, retried: retried,
                durationNanoseconds: 3_000_000, loop: loop)
            events.completed(
                ProxyEvent(
                    routeName: route, method: "GET", status: status, failure: nil,
                    retriedAfterUnauthorized: retried, durationNanoseconds: 3_000_000, loop: loop))
        }
        func proxyLines(_ metrics: Metrics) -> [Substring] {
            metrics.render(statuses: []).split(separator: "\n").filter {
                $0.contains("tokenproxy_proxy_")
            }
        }
        let lines = proxyLines(inParts)
        #expect(lines == proxyLines(asEvents))
        #expect(lines.contains(#"tokenproxy_proxy_unauthorized_retries_total{route="a"} 1"#))
        #expect(
            lines.contains(
                #"tokenproxy_proxy_requests_total{route="none",method="GET",code="200"} 1"#))
        #expect(lines.contains(#"tokenproxy_proxy_request_duration_seconds_count{route="a"} 2"#))
    }

    /// The engine reports a success to the route's template's reporter (not through the
    /// slot): every template of a router names its reporter, which counts as the router does.
    @Test func aSuccessToTheTemplatesReporterCountsAsTheRoutersOwn() throws {
        func router(_ metrics: Metrics) throws -> ProxyRouter {
            try Self.router(metrics, prefixes: ["/api/", "/b/"])
        }
        let viaTemplate = Metrics()
        let viaRouter = Metrics()
        let templated = try router(viaTemplate)
        let direct = try router(viaRouter)
        #expect(templated.routes.allSatisfy { $0.forwardTemplate.reporter === templated.reporter })
        let reporter = try #require(templated.routes[1].forwardTemplate.reporter)
        for (status, retried, loop) in [(200, false, 0), (503, true, 1)] {
            reporter.succeeded(
                route: "/b/", method: "POST", status: status, retried: retried,
                durationNanoseconds: 2_000_000, loop: loop)
            direct.reporter.succeeded(
                route: "/b/", method: "POST", status: status, retried: retried,
                durationNanoseconds: 2_000_000, loop: loop)
        }
        let text = viaTemplate.render(statuses: [])
        #expect(text == viaRouter.render(statuses: []))
        #expect(
            text.contains(
                #"tokenproxy_proxy_requests_total{route="/b/",method="POST",code="503"} 1"#))
    }

    /// A router counting into `metrics`, one route per prefix (upstream ports 9000, 9001, …),
    /// as the daemon wires it.
    static func router(_ metrics: Metrics, prefixes: [String]) throws -> ProxyRouter {
        try ProxyRouter(
            configuration: ProxyConfiguration(
                listen: [.tcp(host: "127.0.0.1", port: 0)],
                routes: prefixes.enumerated().map { index, prefix in
                    ProxyRouterFixture.route(
                        prefix: prefix, upstream: "http://127.0.0.1:\(9000 + index)")
                }),
            tokens: SlotTokenSource(["a"]), metrics: metrics,
            logger: ProxyRouterFixture.silent, file: "test.json")
    }

    @Test func countsInterleavedRoutesSeparately() {
        let metrics = Metrics()
        for route in ["a", "b", "a", "a", "", "c", "b", "a"] { metrics.recordProxy(event(route)) }
        metrics.recordProxy(event("b", status: 404, milliseconds: 30))
        let text = metrics.render(statuses: [])
        #expect(
            text.contains(#"tokenproxy_proxy_requests_total{route="a",method="GET",code="200"} 4"#))
        #expect(
            text.contains(#"tokenproxy_proxy_requests_total{route="b",method="GET",code="200"} 2"#))
        #expect(
            text.contains(#"tokenproxy_proxy_requests_total{route="b",method="GET",code="404"} 1"#))
        #expect(
            text.contains(#"tokenproxy_proxy_requests_total{route="c",method="GET",code="200"} 1"#))
        #expect(
            text.contains(
                #"tokenproxy_proxy_requests_total{route="none",method="GET",code="200"} 1"#))
        #expect(
            text.contains(
                #"tokenproxy_proxy_request_duration_seconds_bucket{route="b",le="0.025"} 2"#))
        #expect(text.contains(#"tokenproxy_proxy_request_duration_seconds_count{route="b"} 3"#))
        #expect(text.contains(#"tokenproxy_proxy_request_duration_seconds_sum{route="b"} 0.032"#))
    }
}
