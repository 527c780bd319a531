import TokenProxyCore

/// An `application/x-www-form-urlencoded` request body as the dev issuer reads it: strictly,
/// so that a client bug shows up here rather than at a real IdP.
///
/// `+` is a space and `%XX` a byte; a `%` not followed by two hex digits, bytes that do not
/// form UTF-8, and a parameter given twice (RFC 6749 §3.1) are `invalid_request`, except
/// those defined to repeat (`resource`, RFC 8707 §2; `audience`, RFC 8693 §2.1). Parameters
/// with an empty value count as omitted (RFC 6749 §3.1).
package struct DevIssuerForm: Sendable, Equatable {
    /// Parameter values by name, empty values dropped; the first value of a repeatable one.
    package private(set) var parameters: [String: String]
    /// Every value of the repeatable parameters, in order.
    package private(set) var repeated: [String: [String]]

    /// Parameters that may appear more than once.
    package static let repeatable: Set<String> = ["resource", "audience"]

    package init(parameters: [String: String], repeated: [String: [String]] = [:]) {
        self.parameters = parameters
        self.repeated = repeated
    }

    /// The value of `name`, or nil when absent or empty.
    package subscript(name: String) -> String? { parameters[name] }

    /// Parses a form body.
    package static func parse(_ body: [UInt8]) throws(DevIssuerRejection) -> DevIssuerForm {
        guard body.count <= Limits.DevIssuer.maxFormBytes else {
            throw .invalidRequest(
                "the form body is larger than \(Limits.DevIssuer.maxFormBytes) bytes")
        }
        var parameters: [String: String] = [:]
        var repeated: [String: [String]] = [:]
        var seen: Set<String> = []
        for segment in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = segment.firstIndex(of: UInt8(ascii: "="))
            let rawName = segment[..<(equals ?? segment.endIndex)]
            let rawValue = equals.map { segment[segment.index(after: $0)...] } ?? []
            let name = try decode(rawName)
            let value = try decode(rawValue)
            if repeatable.contains(name) {
                if !value.isEmpty {
                    repeated[name, default: []].append(value)
                    if parameters[name] == nil { parameters[name] = value }
                }
                continue
            }
            guard seen.insert(name).inserted else {
                throw .invalidRequest(
                    "parameter '\(printable(name))' appears more than once (RFC 6749 §3.1)")
            }
            if !value.isEmpty { parameters[name] = value }
        }
        return DevIssuerForm(parameters: parameters, repeated: repeated)
    }

    /// Whether a `Content-Type` value is the form media type (parameters such as `charset`
    /// are allowed; the type is compared case-insensitively, RFC 9110 §8.3.1).
    package static func isFormContentType(_ value: String?) -> Bool {
        guard let value else { return false }
        let mediaType = value.split(separator: ";", maxSplits: 1).first ?? ""
        // Media types contain no whitespace, so dropping all of it only removes OWS.
        let bare = mediaType.filter { $0 != " " && $0 != "\t" }
        return bare.lowercased() == "application/x-www-form-urlencoded"
    }

    /// Percent-decodes one name or value.
    private static func decode(_ raw: ArraySlice<UInt8>) throws(DevIssuerRejection) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
                index += 1
            case UInt8(ascii: "%"):
                guard raw.endIndex - index >= 3,
                    let high = ASCIIHex.value(raw[index + 1]),
                    let low = ASCIIHex.value(raw[index + 2])
                else {
                    throw .invalidRequest(
                        "malformed percent-escape in the form body: '%' must be followed by two hex digits"
                    )
                }
                bytes.append(high << 4 | low)
                index += 3
            default:
                bytes.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidRequest("the form body is not UTF-8 after percent-decoding")
        }
        return text
    }

    /// A parameter name for an error message: control characters replaced, at most 40
    /// characters (names are not secret, but they may be garbage).
    static func printable(_ text: String) -> String {
        let cleaned = String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
        return cleaned.count > 40 ? String(cleaned.prefix(40)) + "…" : cleaned
    }
}
