import FoundationEssentials
import TokenProxyCore
import TokenProxyCrypto

extension Introspector {
    /// What local validation says about a JWT access token.
    enum JWTOutcome: Sendable {
        /// Signature, algorithm, `iss`, `aud`, `exp`/`nbf` all good.
        case valid(IntrospectionAnswer)
        /// Not valid (the reason is for the debug log only; callers just see inactive).
        case invalid(String)
    }

    /// Validates `token` (which looks like a JWT) with the issuer's JWKS. An unknown `kid`
    /// refetches the JWKS once (rate-limited); the keys being unreachable is an error, never
    /// a verdict.
    func validateJWT(
        _ token: Redacted<String>, credential: Credential, client: OAuthTokenClient
    ) async throws(IntrospectionError) -> JWTOutcome {
        let parsed: CompactJWS.Parsed
        do {
            parsed = try CompactJWS.parse(token.value)
        } catch {
            return .invalid(error.description)
        }
        var keys = try await jwks.keys(for: credential, client: client)
        var payload: [UInt8]?
        do {
            payload = try CompactJWS.verify(parsed, keys: keys)
        } catch .unknownKey {
            keys = try await jwks.keys(for: credential, client: client, unknownKeyID: true)
            payload = try? CompactJWS.verify(parsed, keys: keys)
        } catch {
            return .invalid(error.description)
        }
        guard let payload else { return .invalid("no issuer key verifies the signature") }
        let check = JWTClaimsCheck(
            issuer: credential.issuerString,
            audience: credential.introspection.tokenAudience ?? credential.key.clientID)
        switch check.answer(payload: payload, unixNow: unixNow()) {
        case .success(let answer): return .valid(answer)
        case .failure(let reason): return .invalid(reason.description)
        }
    }

    /// The synchronous form for the fast path: only with keys already held, and only a
    /// definite answer (a `kid` the held keys lack needs the refetch: nil, take the slow path).
    func validateJWTWithHeldKeys(_ token: Redacted<String>, credential: Credential)
        -> IntrospectionAnswer?
    {
        guard let keys = jwks.currentKeys(for: credential) else { return nil }
        let payload: [UInt8]
        do {
            payload = try CompactJWS.verify(try CompactJWS.parse(token.value), keys: keys)
        } catch .unknownKey {
            return nil
        } catch {
            return .inactive
        }
        let check = JWTClaimsCheck(
            issuer: credential.issuerString,
            audience: credential.introspection.tokenAudience ?? credential.key.clientID)
        switch check.answer(payload: payload, unixNow: unixNow()) {
        case .success(let answer): return answer
        case .failure: return .inactive
        }
    }
}
