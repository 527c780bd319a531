import TokenProxyCore

extension DevIssuer {
    /// The issuer's answers are built as Swift dictionaries (readable next to the RFCs they
    /// follow); this turns one into Core's JSON value, for `JSONText.sortedKeys`. Only the types
    /// the issuer uses are accepted; anything else is a bug in the issuer.
    static func jsonValue(_ value: Any) -> ConfigJSON {
        switch value {
        case let text as String: return .string(text)
        // Before the numbers: without Foundation a Swift `Bool` never casts to `Int`, and the
        // order keeps that true if it ever did.
        case let flag as Bool: return .bool(flag)
        case let number as Int: return .number(Double(number))
        case let number as Int64: return .number(Double(number))
        case let number as Double: return .number(number)
        case let object as [String: Any]:
            return .object(
                object.map { ConfigJSON.Member(key: $0.key, value: jsonValue($0.value)) })
        case let array as [Any]: return .array(array.map(jsonValue))
        default: preconditionFailure("DevIssuer.jsonValue: unsupported \(type(of: value))")
        }
    }
}
