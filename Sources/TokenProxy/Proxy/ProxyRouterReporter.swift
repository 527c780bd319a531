import Logging
import TokenProxyCore
import TokenProxyNet

/// What a `ProxyRouter` does with a finished exchange: the proxy metrics and one log line
/// (debug when all went well, warning when the upstream failed).
///
/// Apart from the router so that each route's `ProxyForwardTemplate` can name it as its
/// `reporter` without a reference cycle (the router holds the routes, which hold the
/// templates): the engine reports an exchange that succeeded straight here, not through the
/// `ProxyRouterSlot`, whose lock it would otherwise take again after `decide` (see
/// `ProxySuccessReporter`). The daemon's routers share the process's `Metrics` and logger, so
/// an exchange decided before a reload and finished after it is counted and logged the same.
final class ProxyRouterReporter: ProxySuccessReporter {
    let metrics: Metrics?
    /// `metrics?.proxy`, read once: what a success touches (no retain of `metrics` to reach it).
    let counters: ProxyCounters?
    let logger: Logger
    /// Whether a request that succeeded is logged (`debug`): taken from `logger` once, which
    /// cannot change it (a `let` of a value type whose handlers are all value types); asking
    /// it per request copied its handler existential (~100 instructions).
    let logsSuccesses: Bool

    init(metrics: Metrics?, logger: Logger) {
        self.metrics = metrics
        counters = metrics?.proxy
        self.logger = logger
        logsSuccesses = logger.logLevel <= .debug
    }

    func completed(_ event: ProxyEvent) {
        metrics?.recordProxy(event)
        // The common case, a success below the log level, builds no strings (the loop's hot path).
        if event.failure == nil && !logsSuccesses { return }
        let metadata: Logger.Metadata = [
            "route": "\(event.routeName)", "method": "\(event.method)", "status": "\(event.status)",
            "duration_ms": "\(Self.milliseconds(event.duration))",
            "retried_after_401": "\(event.retriedAfterUnauthorized)",
        ]
        if let failure = event.failure {
            // The engine's own 502/504 means an upstream problem an operator should see; a
            // client that went away or sent garbage is routine.
            let level: Logger.Level = event.status >= 500 ? .warning : .info
            logger.log(level: level, "proxy request failed: \(failure)", metadata: metadata)
        } else {
            logger.debug("proxy request", metadata: metadata)
        }
    }

    /// `completed` for a success, without building the event unless it is logged.
    func succeeded(
        route: String, method: String, status: Int, retried: Bool, durationNanoseconds: UInt64,
        loop: Int
    ) {
        guard !logsSuccesses else {
            return completed(
                .success(
                    route: route, method: method, status: status, retried: retried,
                    durationNanoseconds: durationNanoseconds, loop: loop))
        }
        counters?.record(
            route: route, method: method, status: status, failed: false, retried: retried,
            nanoseconds: durationNanoseconds, loop: loop)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
