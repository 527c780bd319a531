/// Reads typed values out of a `ConfigJSON` document and collects a problem for everything
/// wrong instead of stopping at the first one.
///
/// Every getter returns `nil` after reporting when a value is missing or unusable, so callers
/// read on and build their struct only when `problems` is empty. `package` so the proxy
/// feature can validate its own section with the same paths, messages and suggestions.
package struct ConfigDecoder {
    package private(set) var problems: [ConfigurationProblem] = []

    package init() {}

    /// Records a problem at `path`. Messages say what is wrong and what to do.
    package mutating func report(_ path: ConfigPath, _ message: String) {
        problems.append(ConfigurationProblem(path, message))
    }

    /// Reads `value` as an object.
    ///
    /// Reports a duplicate key (JSON parsers disagree on which one wins, so we accept neither)
    /// and, when `keys` is given, every key not in it, with the closest known key as a
    /// suggestion. The returned object holds the first occurrence of each key.
    package mutating func object(_ value: ConfigJSON, at path: ConfigPath, keys: [String]?)
        -> ConfigObject?
    {
        guard case .object(let members) = value else {
            reportType(path, expected: "an object", got: value)
            return nil
        }
        var firstLine: [String: Int] = [:]
        var unique: [ConfigJSON.Member] = []
        for member in members {
            let memberPath = path.appending(member.key)
            if let line = firstLine[member.key] {
                report(memberPath, "duplicate key (first on line \(line)); keep only one of them")
                continue
            }
            firstLine[member.key] = member.line
            unique.append(member)
            if let keys, !keys.contains(member.key) {
                var message = "unknown key"
                if let suggestion = ConfigSuggestion.closest(to: member.key, among: keys) {
                    message += "; did you mean '\(suggestion)'?"
                } else {
                    message += "; known keys here: " + keys.joined(separator: ", ")
                }
                report(memberPath, message)
            }
        }
        return ConfigObject(path: path, members: unique)
    }

    /// Reads the member `key` of `object` as an object, see `object(_:at:keys:)`.
    package mutating func object(
        _ object: ConfigObject, _ key: String, keys: [String]?, required: Bool = false
    )
        -> ConfigObject?
    {
        guard let (value, path) = member(object, key, required: required) else { return nil }
        return self.object(value, at: path, keys: keys)
    }

    /// The value of `key` and its path; reports a missing required key. An explicit `null`
    /// counts as present, so the type check can tell the operator to drop it.
    package mutating func member(_ object: ConfigObject, _ key: String, required: Bool) -> (
        ConfigJSON, ConfigPath
    )? {
        let path = object.path.appending(key)
        guard let value = object[key] else {
            if required { report(path, "required key is missing") }
            return nil
        }
        return (value, path)
    }

    /// Reports a value of the wrong JSON type: `expected an array of strings, got a string`.
    package mutating func reportType(_ path: ConfigPath, expected: String, got value: ConfigJSON) {
        var message = "expected \(expected), got \(value.kindDescription)"
        if value == .null { message += "; leave the key out to use the default" }
        report(path, message)
    }
}

/// An object whose keys have been checked, with members in file order.
package struct ConfigObject: Sendable {
    package let path: ConfigPath
    package let members: [ConfigJSON.Member]

    package subscript(key: String) -> ConfigJSON? {
        members.first { $0.key == key }?.value
    }
}
