/// The bearer token of a request (RFC 6750 §2.1: `Authorization: Bearer b64token`).
package enum BearerCredentials {
    /// Why no token could be taken from a request.
    package enum Problem: Error, Sendable, Equatable {
        /// No `Authorization`, or another scheme (Basic …): RFC 6750 §3.1 answers with a bare
        /// challenge, no error code.
        case missing
        /// Several `Authorization` fields or a malformed `Bearer` value: `invalid_request`.
        case malformed
    }

    /// The token in `fields`.
    package static func token(in fields: HTTPFields) -> Result<String, Problem> {
        let values = fields.values("Authorization")
        guard !values.isEmpty else { return .failure(.missing) }
        guard values.count == 1 else { return .failure(.malformed) }
        let value = values[0]
        guard let space = value.firstIndex(of: " ") else {
            return value.lowercased() == "bearer" ? .failure(.malformed) : .failure(.missing)
        }
        // RFC 9110 §11.1: the scheme is case-insensitive.
        guard value[..<space].lowercased() == "bearer" else { return .failure(.missing) }
        var token = value[value.index(after: space)...]
        while token.first == " " { token = token.dropFirst() }
        while token.last == " " { token = token.dropLast() }
        // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
        let allowed = token.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"),
                UInt8(ascii: "="):
                return true
            default:
                return false
            }
        }
        guard !token.isEmpty, allowed, token.utf8.count <= Limits.Introspection.maxTokenBytes
        else { return .failure(.malformed) }
        return .success(String(token))
    }
}
