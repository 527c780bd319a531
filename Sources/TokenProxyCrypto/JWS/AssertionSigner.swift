import FoundationEssentials
import TokenProxyCore

/// Turns claims into compact JWS assertions (RFC 7515 §7.1, RFC 7523) with one service key.
package struct AssertionSigner: Sendable {
    /// The key that signs, and the identity it asserts.
    package let key: ServiceKey
    /// The JWS `alg`.
    package let algorithm: JWSAlgorithm

    /// The longest assertion lifetime accepted; servers commonly refuse longer ones and a
    /// leaked assertion should not be useful for long.
    package static let lifetimeRange: ClosedRange<Int64> = 1...3600
    /// Clock skew allowance: backdating `iat` by more than an hour is a configuration mistake.
    package static let skewRange: ClosedRange<Int64> = 0...3600

    /// Uses `algorithm`, or the key's default. Fails if the algorithm does not fit the key;
    /// the message names the key type and the algorithms it allows.
    package init(key: ServiceKey, algorithm: JWSAlgorithm? = nil) throws {
        let chosen = algorithm ?? key.privateKey.defaultAlgorithm
        try EVPKey.requireSupport(key.privateKey.type, chosen)
        self.key = key
        self.algorithm = chosen
    }

    /// The protected header `{"alg":…,"kid":…,"typ":"JWT"}`, `kid` only when the key has one.
    var headerJSON: String {
        var out = "{\"alg\":\"\(algorithm.rawValue)\""
        if let keyID = key.keyID {
            out += ",\"kid\":"
            JSONValue.writeString(keyID, to: &out)
        }
        out += ",\"typ\":\"JWT\"}"
        return out
    }

    /// Signs `claims` as a compact JWS: base64url (unpadded) header, claims and signature
    /// joined by dots.
    package func sign(_ claims: AssertionClaims) throws -> Redacted<String> {
        let signingInput =
            Base64URL.encode(Array(headerJSON.utf8)) + "."
            + Base64URL.encode(Array(try claims.json().utf8))
        let signature = try key.privateKey.sign(Array(signingInput.utf8), algorithm: algorithm)
        return Redacted(signingInput + "." + Base64URL.encode(signature))
    }

    /// Builds and signs an assertion for now: `iss` = `sub` = the key's client id,
    /// `iat` = now − skew, `exp` = `iat` + lifetime, `nbf` = `iat` when asked, and a `jti` of
    /// 128 random bits. Lifetime must be 1 s … 3600 s, skew 0 s … 3600 s (whole seconds; a
    /// fraction is dropped).
    ///
    /// The lifetime is exactly `exp − iat`, as servers measure it (ZITADEL refuses more than
    /// an hour): the backdating comes out of the lifetime, so the assertion is valid for
    /// `lifetime − skew` from now. A skew of at least the lifetime is cut to `lifetime − 1`, so
    /// that an assertion is never expired when signed.
    package func makeAssertion(
        audience: [String], lifetime: Duration, skew: Duration, now: Date,
        includeNotBefore: Bool = false, extra: [String: JSONValue] = [:]
    ) throws -> Redacted<String> {
        let lifetimeSeconds = lifetime.components.seconds
        guard Self.lifetimeRange.contains(lifetimeSeconds) else {
            throw CryptoError.invalidLifetime(seconds: lifetimeSeconds)
        }
        let skewSeconds = skew.components.seconds
        guard skew >= .zero, Self.skewRange.contains(skewSeconds) else {
            throw CryptoError.invalidSkew(seconds: skewSeconds)
        }
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let issuedAt = nowSeconds - min(skewSeconds, lifetimeSeconds - 1)
        let claims = AssertionClaims(
            issuer: key.clientID, subject: key.clientID, audience: audience,
            issuedAt: issuedAt, expiresAt: issuedAt + lifetimeSeconds,
            notBefore: includeNotBefore ? issuedAt : nil,
            jwtID: Base64URL.encode(SecureRandom.bytes(16)), extra: extra)
        return try sign(claims)
    }
}
