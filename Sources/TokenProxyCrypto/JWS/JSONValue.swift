import TokenProxyCore

/// A JSON value for extra assertion claims. Objects are dictionaries and are serialized with
/// their keys sorted, so the same claims always produce the same bytes.
package enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    /// Must be finite; NaN and infinity have no JSON form and are refused when serializing.
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    package init(stringLiteral value: String) { self = .string(value) }
    package init(integerLiteral value: Int64) { self = .int(value) }
    package init(floatLiteral value: Double) { self = .double(value) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue {
    /// Appends the compact JSON text of this value to `out`. `claim` names the top-level claim
    /// in errors.
    func write(to out: inout String, claim: String) throws {
        switch self {
        case .string(let text):
            JSONValue.writeString(text, to: &out)
        case .int(let number):
            out += String(number)
        case .double(let number):
            guard number.isFinite else {
                throw CryptoError.invalidClaim(
                    name: claim, problem: "is not a finite number; JSON cannot represent it")
            }
            out += "\(number)"
        case .bool(let flag):
            out += flag ? "true" : "false"
        case .null:
            out += "null"
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                try element.write(to: &out, claim: claim)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                JSONValue.writeString(key, to: &out)
                out += ":"
                try members[key]!.write(to: &out, claim: claim)
            }
            out += "}"
        }
    }

    /// A JSON string literal (RFC 8259 §7), written by the package's one escaper.
    static func writeString(_ text: String, to out: inout String) {
        JSONText.appendString(text, to: &out)
    }
}
