/// Pieces of the Prometheus text exposition format (0.0.4) shared by every metric family.
enum PrometheusText {
    /// A label value: backslash, quote and newline escaped.
    static func label(_ text: String) -> String {
        text.replacing("\\", with: "\\\\")
            .replacing("\"", with: "\\\"")
            .replacing("\n", with: "\\n")
    }

    /// A sample value: whole numbers without a fraction (`1`, not `1.0`).
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// A per-mille value as a decimal fraction: 437 is `0.437`, 1000 is `1.000`.
    static func permille(_ value: Int) -> String {
        let clamped = max(0, value)
        let fraction = String(clamped % 1_000)
        return "\(clamped / 1_000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// Builds an exposition text: one `# HELP`/`# TYPE` header per family, then its samples with
/// every label value escaped, so no family writes the format by hand.
struct PrometheusWriter {
    /// The text written so far.
    private(set) var text = ""

    /// Starts a metric family (`type` is `counter`, `gauge` or `histogram`).
    mutating func family(_ name: String, _ type: String, help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    /// One sample line: `name{label="value",…} number`.
    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            text += labels.map { "\($0.key)=\"\(PrometheusText.label($0.value))\"" }
                .joined(separator: ",")
            text += "}"
        }
        text += " \(value)\n"
    }

    /// One sample line with an integer value.
    mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String>, _ value: Int) {
        sample(name, labels, String(value))
    }

    /// A whole gauge family with one sample per event loop, labelled by its index.
    mutating func perLoop(_ name: String, help: String, _ values: [String]) {
        family(name, "gauge", help: help)
        for (loop, value) in values.enumerated() {
            sample(name, ["loop": String(loop)], value)
        }
    }

    /// A whole counter family with one label, samples sorted by label value.
    mutating func counters(_ name: String, help: String, label: String, _ values: [String: Int]) {
        family(name, "counter", help: help)
        for (value, count) in values.sorted(by: { $0.key < $1.key }) {
            sample(name, [label: value], count)
        }
    }

    /// A whole histogram family with one label, sorted by label value.
    mutating func histograms(
        _ name: String, help: String, label: String, _ values: [String: PrometheusHistogram]
    ) {
        family(name, "histogram", help: help)
        for (value, histogram) in values.sorted(by: { $0.key < $1.key }) {
            self.histogram(name, label: label, value: value, histogram)
        }
    }

    /// A histogram's `_bucket`, `_sum` and `_count` lines for one label.
    mutating func histogram(
        _ name: String, label: String, value: String, _ histogram: PrometheusHistogram
    ) {
        text += histogram.render(name, label: label, value: value)
    }
}
