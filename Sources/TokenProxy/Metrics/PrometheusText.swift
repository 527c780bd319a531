/// Pieces of the Prometheus text exposition format (0.0.4) shared by every metric family.
enum PrometheusText {
    /// A label value: backslash, quote and newline escaped.
    static func label(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// A sample value: whole numbers without a fraction (`1`, not `1.0`).
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// A cumulative histogram of durations in seconds for one label set.
struct PrometheusHistogram: Sendable {
    let bounds: [Double]
    private(set) var buckets: [Int]
    private(set) var count = 0
    private(set) var sum = 0.0

    init(bounds: [Double]) {
        self.bounds = bounds
        buckets = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ duration: Duration) {
        let seconds =
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        for (index, bound) in bounds.enumerated() where seconds <= bound { buckets[index] += 1 }
        count += 1
        sum += seconds
    }

    /// The `_bucket`, `_sum` and `_count` lines of `metric` for one label (`name="value"`).
    func render(_ metric: String, label name: String, value: String) -> String {
        let labels = "\(name)=\"\(PrometheusText.label(value))\""
        var out = ""
        for (index, bound) in bounds.enumerated() {
            out +=
                "\(metric)_bucket{\(labels),le=\"\(PrometheusText.number(bound))\"} \(buckets[index])\n"
        }
        out += "\(metric)_bucket{\(labels),le=\"+Inf\"} \(count)\n"
        out += "\(metric)_sum{\(labels)} \(PrometheusText.number(sum))\n"
        out += "\(metric)_count{\(labels)} \(count)\n"
        return out
    }
}
