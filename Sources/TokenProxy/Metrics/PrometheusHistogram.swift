/// A cumulative histogram of durations in seconds for one label set.
///
/// Counted per bucket and made cumulative when rendered: an observation increments one
/// counter, found by comparing integer nanoseconds (`observe(nanoseconds:)`, the proxy's path
/// once per request: splitting a `Duration` into seconds and attoseconds and incrementing every
/// bucket above the value was ~600 instructions of a proxied request).
struct PrometheusHistogram: Sendable {
    /// Upper bounds in seconds, ascending (the `le` labels).
    let bounds: [Double]
    /// The same bounds in nanoseconds (a value equal to a bound falls into its bucket).
    private let nanosecondBounds: [UInt64]
    /// Observations per bucket, not cumulative: `[i]` counts values in (bound i-1, bound i].
    private var perBucket: [Int]
    private(set) var count = 0
    /// The sum of observed values, in nanoseconds (exact; converted to seconds when rendered).
    private var sumNanoseconds: UInt64 = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        nanosecondBounds = bounds.map { UInt64(($0 * 1e9).rounded()) }
        perBucket = Array(repeating: 0, count: bounds.count)
    }

    /// The sum of observed values in seconds.
    var sum: Double { Double(sumNanoseconds) / 1e9 }

    /// Observations at or below each bound, as the exposition format counts them.
    var buckets: [Int] {
        var running = 0
        return perBucket.map { count in
            running += count
            return running
        }
    }

    mutating func observe(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        // A negative duration (a clock stepping back) counts as zero; `components` gives
        // one below a second as zero seconds and negative attoseconds.
        guard seconds >= 0 && attoseconds >= 0 else { return observe(nanoseconds: 0) }
        let nanoseconds = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        observe(
            nanoseconds: nanoseconds.overflow
                ? .max : nanoseconds.partialValue &+ UInt64(attoseconds / 1_000_000_000))
    }

    /// Counts one value of `nanoseconds`.
    mutating func observe(nanoseconds: UInt64) {
        count += 1
        sumNanoseconds &+= nanoseconds
        // The bounds are few and the usual value falls into the first ones.
        for index in nanosecondBounds.indices where nanoseconds <= nanosecondBounds[index] {
            perBucket[index] += 1
            return
        }
    }

    /// Adds the observations of `other`, which has the same bounds (another shard's).
    mutating func add(_ other: PrometheusHistogram) {
        precondition(other.nanosecondBounds == nanosecondBounds, "histograms with other bounds")
        for index in perBucket.indices { perBucket[index] += other.perBucket[index] }
        count += other.count
        sumNanoseconds &+= other.sumNanoseconds
    }

    /// The `_bucket`, `_sum` and `_count` lines of `metric` for one label (`name="value"`).
    func render(_ metric: String, label name: String, value: String) -> String {
        let labels = "\(name)=\"\(PrometheusText.label(value))\""
        var out = ""
        for (index, cumulative) in buckets.enumerated() {
            out +=
                "\(metric)_bucket{\(labels),le=\"\(PrometheusText.number(bounds[index]))\"} \(cumulative)\n"
        }
        out += "\(metric)_bucket{\(labels),le=\"+Inf\"} \(count)\n"
        out += "\(metric)_sum{\(labels)} \(PrometheusText.number(sum))\n"
        out += "\(metric)_count{\(labels)} \(count)\n"
        return out
    }
}
