/// Typed getters. Each reads `key` of an object, reports what is wrong with it at its path and
/// returns `nil` then; an absent optional key also gives `nil` without a problem.
extension ConfigDecoder {
    package mutating func string(_ object: ConfigObject, _ key: String, required: Bool = false)
        -> String?
    {
        guard let (value, path) = member(object, key, required: required) else { return nil }
        return string(value, at: path)
    }

    /// A non-empty string: an empty one is never a meaningful setting here.
    package mutating func string(_ value: ConfigJSON, at path: ConfigPath) -> String? {
        guard case .string(let string) = value else {
            reportType(path, expected: "a string", got: value)
            return nil
        }
        guard !string.isEmpty else {
            report(path, "must not be empty; leave the key out to use the default")
            return nil
        }
        return string
    }

    package mutating func bool(_ object: ConfigObject, _ key: String) -> Bool? {
        guard let (value, path) = member(object, key, required: false) else { return nil }
        guard case .bool(let bool) = value else {
            reportType(path, expected: "true or false", got: value)
            return nil
        }
        return bool
    }

    /// A number within `range`; `unit` completes the message ("between 1 and 3600 seconds").
    package mutating func number(
        _ object: ConfigObject, _ key: String, in range: ClosedRange<Double>, unit: String = "",
        wholeNumber: Bool = false
    ) -> Double? {
        guard let (value, path) = member(object, key, required: false) else { return nil }
        return number(value, at: path, in: range, unit: unit, wholeNumber: wholeNumber)
    }

    package mutating func number(
        _ value: ConfigJSON, at path: ConfigPath, in range: ClosedRange<Double>, unit: String = "",
        wholeNumber: Bool = false
    ) -> Double? {
        guard case .number(let number) = value else {
            reportType(path, expected: "a number", got: value)
            return nil
        }
        let unitSuffix = unit.isEmpty ? "" : " " + unit
        guard range.contains(number) else {
            let bounds =
                "\(ConfigJSON.format(range.lowerBound)) and \(ConfigJSON.format(range.upperBound))"
            report(
                path, "must be between \(bounds)\(unitSuffix) (got \(ConfigJSON.format(number)))")
            return nil
        }
        guard !wholeNumber || number.rounded() == number else {
            report(
                path,
                "must be a whole number\(unit.isEmpty ? "" : " of" + unitSuffix) (got \(ConfigJSON.format(number)))"
            )
            return nil
        }
        return number
    }

    /// An array of non-empty strings; each wrong element is reported at its index.
    package mutating func stringArray(_ object: ConfigObject, _ key: String) -> [String]? {
        guard let (value, path) = member(object, key, required: false) else { return nil }
        return stringArray(value, at: path, expected: "an array of strings")
    }

    /// A single string or an array of them, as JWT `aud` allows (RFC 7519 §4.1.3).
    package mutating func stringOrStringArray(_ object: ConfigObject, _ key: String) -> [String]? {
        guard let (value, path) = member(object, key, required: false) else { return nil }
        if case .string = value { return string(value, at: path).map { [$0] } }
        let result = stringArray(value, at: path, expected: "a string or an array of strings")
        if result?.isEmpty == true {
            report(path, "must not be empty; leave the key out to use the default")
            return nil
        }
        return result
    }

    private mutating func stringArray(_ value: ConfigJSON, at path: ConfigPath, expected: String)
        -> [String]?
    {
        guard case .array(let elements) = value else {
            reportType(path, expected: expected, got: value)
            return nil
        }
        var strings: [String] = []
        var valid = true
        for (index, element) in elements.enumerated() {
            if let string = string(element, at: path.appending(index: index)) {
                strings.append(string)
            } else {
                valid = false
            }
        }
        return valid ? strings : nil
    }

    /// An array of whole numbers within `range`, such as uids.
    package mutating func integerArray(
        _ object: ConfigObject, _ key: String, in range: ClosedRange<Double>
    ) -> [Int]? {
        guard let (value, path) = member(object, key, required: false) else { return nil }
        guard case .array(let elements) = value else {
            reportType(path, expected: "an array of numbers", got: value)
            return nil
        }
        var integers: [Int] = []
        var valid = true
        for (index, element) in elements.enumerated() {
            if let number = number(
                element, at: path.appending(index: index), in: range, wholeNumber: true)
            {
                integers.append(Int(number))
            } else {
                valid = false
            }
        }
        return valid ? integers : nil
    }

    /// One of a fixed set of strings: `must be one of "a", "b" (got "c"); did you mean "a"?`
    package mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ object: ConfigObject, _ key: String, required: Bool = false
    ) -> Choice? where Choice.RawValue == String {
        guard let (value, path) = member(object, key, required: required),
            let raw = string(value, at: path)
        else { return nil }
        if let choice = Choice(rawValue: raw) { return choice }
        let names = Choice.allCases.map(\.rawValue)
        var message =
            "must be one of " + names.map { "\"\($0)\"" }.joined(separator: ", ")
            + " (got \"\(raw)\")"
        if let suggestion = ConfigSuggestion.closest(to: raw, among: names) {
            message += "; did you mean \"\(suggestion)\"?"
        }
        report(path, message)
        return nil
    }
}
