/// The claims of an RFC 7523 client or authorization-grant assertion (RFC 7523 §3).
package struct AssertionClaims: Sendable {
    /// `iss`: who made the assertion (the client id).
    package var issuer: String
    /// `sub`: whom it is about (the client id again for client authentication).
    package var subject: String
    /// `aud`: the authorization server. Serialized as a single string when it has one element,
    /// since some servers accept nothing else, and as an array otherwise (RFC 7519 §4.1.3).
    package var audience: [String]
    /// `iat`, seconds since the epoch.
    package var issuedAt: Int64
    /// `exp`, seconds since the epoch.
    package var expiresAt: Int64
    /// `nbf`, omitted when nil.
    package var notBefore: Int64?
    /// `jti`: unique per assertion so the server can refuse replays (RFC 7523 §3 item 7).
    package var jwtID: String
    /// More claims; any of the registered names above is refused, not silently overwritten.
    package var extra: [String: JSONValue]

    /// The claims the signer owns.
    package static let registeredNames: Set<String> = [
        "iss", "sub", "aud", "iat", "exp", "nbf", "jti",
    ]

    package init(
        issuer: String, subject: String, audience: [String], issuedAt: Int64, expiresAt: Int64,
        notBefore: Int64? = nil, jwtID: String, extra: [String: JSONValue] = [:]
    ) {
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.jwtID = jwtID
        self.extra = extra
    }

    /// The compact JSON claims set: registered claims in the order iss, sub, aud, iat, exp,
    /// nbf, jti, then the extra claims sorted by name.
    func json() throws -> String {
        guard !audience.isEmpty else { throw CryptoError.invalidAudience(problem: "is empty") }
        guard !audience.contains(where: \.isEmpty) else {
            throw CryptoError.invalidAudience(problem: "contains an empty string")
        }
        if let reserved = extra.keys.sorted().first(where: Self.registeredNames.contains) {
            throw CryptoError.reservedClaim(name: reserved)
        }
        var out = "{\"iss\":"
        JSONValue.writeString(issuer, to: &out)
        out += ",\"sub\":"
        JSONValue.writeString(subject, to: &out)
        out += ",\"aud\":"
        if audience.count == 1 {
            JSONValue.writeString(audience[0], to: &out)
        } else {
            try JSONValue.array(audience.map(JSONValue.string)).write(to: &out, claim: "aud")
        }
        out += ",\"iat\":\(issuedAt),\"exp\":\(expiresAt)"
        if let notBefore { out += ",\"nbf\":\(notBefore)" }
        out += ",\"jti\":"
        JSONValue.writeString(jwtID, to: &out)
        for name in extra.keys.sorted() {
            out += ","
            JSONValue.writeString(name, to: &out)
            out += ":"
            try extra[name]!.write(to: &out, claim: name)
        }
        out += "}"
        return out
    }
}
