import TokenProxyCore

/// The configuration reader and validator: any bytes give a configuration or a list of
/// problems, each naming where it is.
enum ConfigTarget {
    static func run(_ bytes: [UInt8]) {
        do {
            _ = try ConfigurationParser.parse(bytes, file: "fuzz.json")
        } catch {
            precondition(!error.problems.isEmpty, "a rejected configuration names no problem")
            _ = error.description
        }
    }
}
