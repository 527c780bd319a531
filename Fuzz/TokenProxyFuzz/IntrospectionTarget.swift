import TokenProxyCore

/// RFC 7662 introspection responses, and the claim checks applied to a verified JWT payload
/// (which produce the same answer type).
enum IntrospectionTarget {
    static let check = JWTClaimsCheck(issuer: "https://idp.example", audience: "api")

    static func run(_ bytes: [UInt8]) {
        _ = IntrospectionAnswer.parse(bytes)
        _ = check.answer(payload: bytes, unixNow: 1_800_000_000)
    }
}
