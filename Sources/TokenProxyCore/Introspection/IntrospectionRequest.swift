/// The body of `POST /v1/introspect/{credential}`: RFC 7662 §2.1's form
/// (`token=…&token_type_hint=…`) or the same as JSON (`{"token": "…"}`), chosen by
/// `Content-Type`. Errors name the member and never quote the token.
package struct IntrospectionRequest: Sendable {
    package var token: Redacted<String>
    package var hint: String?

    package init(token: Redacted<String>, hint: String? = nil) {
        self.token = token
        self.hint = hint
    }

    /// Parses `body`; `contentType` JSON (`application/json`, `…+json`) selects JSON, anything
    /// else (or none) the form encoding.
    package static func parse(_ body: [UInt8], contentType: String?) -> Result<Self, ParseError> {
        let type =
            (contentType ?? "").split(separator: ";").first.map {
                $0.trimmingOWS().lowercased()
            } ?? ""
        let fields: [String: String]
        if type == "application/json" || type.hasSuffix("+json") {
            guard let object = JSONObjectMembers(body) else { return .failure(.notJSONObject) }
            var strings: [String: String] = [:]
            for name in ["token", "token_type_hint"] {
                guard let value = object[name] else { continue }
                guard case .string(let text) = value else { return .failure(.notAString(name)) }
                strings[name] = text
            }
            fields = strings
        } else {
            guard let form = formFields(body) else { return .failure(.badForm) }
            fields = form
        }
        guard let token = fields["token"], !token.isEmpty else { return .failure(.missingToken) }
        guard token.utf8.count <= Limits.Introspection.maxTokenBytes else {
            return .failure(.tokenTooLong)
        }
        let hint = fields["token_type_hint"].flatMap { $0.isEmpty ? nil : $0 }
        return .success(IntrospectionRequest(token: Redacted(token), hint: hint))
    }

    /// Why a body was refused (400).
    package enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSONObject
        case notAString(String)
        case badForm
        case missingToken
        case tokenTooLong

        package var description: String {
            switch self {
            case .notJSONObject: "the JSON body is not an object like {\"token\": \"…\"}"
            case .notAString(let name): "'\(name)' must be a string"
            case .badForm:
                "the form body is not application/x-www-form-urlencoded UTF-8 (token=…)"
            case .missingToken:
                "no token: send token=… as a form, or {\"token\": \"…\"} with Content-Type: application/json"
            case .tokenTooLong:
                "the token is longer than \(Limits.Introspection.maxTokenBytes) bytes"
            }
        }
    }

    /// `name=value&…` with `+` as space and `%XX` escapes (WHATWG URL §5.1); the first of
    /// repeated names wins. `nil` for a malformed escape or bytes that are not UTF-8.
    static func formFields(_ body: [UInt8]) -> [String: String]? {
        var result: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(
                separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { return nil }
            guard let value = parts.count > 1 ? decode(parts[1]) : "" else { return nil }
            if result[name] == nil { result[name] = value }
        }
        return result
    }

    private static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        PercentEncoding.decode(bytes, plusAsSpace: true)
    }
}
