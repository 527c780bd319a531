/// The claim checks on a JWT access token whose signature verified (RFC 9068 §4, RFC 7519
/// §4.1): `iss` is the credential's issuer, `aud` contains the expected audience, `exp` is
/// ahead and `nbf` behind, each with a small leeway for clock differences. The result is an
/// introspection answer, so JWT-validated and introspected tokens look alike to callers.
package struct JWTClaimsCheck: Sendable {
    package var issuer: String
    package var audience: String
    package var leeway: Duration

    package init(
        issuer: String, audience: String, leeway: Duration = Limits.Introspection.jwtLeeway
    ) {
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
    }

    /// The active answer for a verified `payload`, or why the token is not valid (the caller
    /// answers "inactive": RFC 7662 §2.2 gives no reason to the caller either).
    package func answer(payload: [UInt8], unixNow: Double) -> Result<IntrospectionAnswer, Reason> {
        guard let object = JSONObjectMembers(payload) else {
            return .failure(.malformed("the payload is not a JSON object"))
        }
        // The claims with `"active": true` (overriding any the token carried), keys sorted.
        let claims = ConfigJSON.object(
            object.members + [ConfigJSON.Member(key: "active", value: .bool(true))])
        let answer: IntrospectionAnswer
        switch IntrospectionAnswer.parse(Array(JSONText.sortedKeys(claims).utf8)) {
        case .success(let parsed): answer = parsed
        case .failure(let error): return .failure(.malformed(error.description))
        }
        let slack = Double(leeway.components.seconds)
        var stated = answer.issuer ?? ""
        while stated.hasSuffix("/") { stated.removeLast() }
        guard stated == issuer else { return .failure(.wrongIssuer) }
        guard answer.audience.contains(audience) else { return .failure(.wrongAudience) }
        guard let expiresAt = answer.expiresAt else { return .failure(.malformed("no exp")) }
        guard Double(expiresAt) + slack > unixNow else { return .failure(.expired) }
        if let notBefore = answer.notBefore, Double(notBefore) - slack > unixNow {
            return .failure(.notYetValid)
        }
        return .success(answer)
    }

    /// Why a verified JWT is still not accepted.
    package enum Reason: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case wrongIssuer
        case wrongAudience
        case expired
        case notYetValid

        package var description: String {
            switch self {
            case .malformed(let detail): "malformed claims: \(detail)"
            case .wrongIssuer: "iss is not the credential's issuer"
            case .wrongAudience: "aud does not contain the expected audience"
            case .expired: "exp has passed"
            case .notYetValid: "nbf is in the future"
            }
        }
    }
}
