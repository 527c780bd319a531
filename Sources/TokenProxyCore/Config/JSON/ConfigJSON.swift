/// A parsed JSON value as the configuration validator sees it.
///
/// We parse JSON ourselves instead of using `JSONSerialization` because the validator needs
/// three things Foundation does not give: objects in file order (so `status` lists credentials
/// as the operator wrote them), every duplicate key (JSONSerialization silently keeps the last
/// one, hiding a typo'd override), and syntax errors with a line and column. The value is
/// `Sendable`, so parts the core does not interpret (the `proxy` section) can be kept as is.
package enum ConfigJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// Every JSON number, as a `Double`: integers are exact up to 2^53, far beyond any value the
    /// configuration accepts (uids stop at 2^32).
    case number(Double)
    case string(String)
    case array([ConfigJSON])
    /// Members in file order, duplicates included.
    case object([Member])

    /// One `"key": value` pair of an object.
    package struct Member: Sendable, Equatable, CustomStringConvertible {
        package var key: String
        package var value: ConfigJSON
        /// The 1-based line the key starts on, for messages about duplicate keys.
        /// Not part of equality: two documents with the same content are equal.
        package var line: Int

        package init(key: String, value: ConfigJSON, line: Int = 0) {
            self.key = key
            self.value = value
            self.line = line
        }

        package static func == (lhs: Member, rhs: Member) -> Bool {
            lhs.key == rhs.key && lhs.value == rhs.value
        }

        package var description: String { "\(key): \(value)" }
    }

    /// The kind of value with its article, for messages like "expected a string, got a number".
    package var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value of the first member named `key`, if this is an object that has one.
    package subscript(key: String) -> ConfigJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }
}

extension ConfigJSON: CustomStringConvertible {
    /// A compact JSON-like rendering for test failures and messages quoting a bad value.
    package var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .number(let value): ConfigJSON.format(value)
        case .string(let value): "\"\(value)\""
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .object(let members):
            "{" + members.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// Formats a number the way an operator wrote it: `7200`, not `7200.0`.
    package static func format(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
