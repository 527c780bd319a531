import TokenProxy
import TokenProxyCore
import TokenProxyCrypto

extension DevIssuer {
    /// Validates an RFC 7523 assertion and consumes its `jti`; returns the client it proves.
    ///
    /// The order matters: the unverified header and `iss` only select the client and key; the
    /// signature is checked before any other claim is believed. Failures are `invalid_grant`;
    /// client authentication turns them into `invalid_client` (`asClientAuthentication`).
    ///
    /// - Parameters:
    ///   - audiences: the values of which `aud` must contain one (the issuer and the endpoint).
    ///   - expectedClientID: a `client_id` sent beside a client assertion, which must be `sub`.
    func verifyAssertion(
        _ text: String, audiences: [String], expectedClientID: String? = nil
    ) throws(DevIssuerRejection) -> Client {
        let jws = try DevIssuerJWS.parse(text)
        let algorithm = try Self.algorithm(named: jws.algorithm)
        guard !jws.signature.isEmpty else {
            throw .invalidGrant("the assertion's signature is empty")
        }
        guard let iss = try jws.string("iss") else {
            throw .invalidGrant("the 'iss' claim is missing; it must be the client id")
        }
        guard let sub = try jws.string("sub") else {
            throw .invalidGrant("the 'sub' claim is missing; it must be the client id")
        }
        guard iss == sub else {
            throw .invalidGrant(
                "iss '\(DevIssuerForm.printable(iss))' and sub '\(DevIssuerForm.printable(sub))' "
                    + "differ; both must be the client id")
        }
        guard let client = clients[iss] else {
            throw .invalidGrant(
                "unknown client '\(DevIssuerForm.printable(iss))'; registered: "
                    + clients.keys.sorted().joined(separator: ", "))
        }
        let clientID = client.clientID
        if let expectedClientID, expectedClientID != clientID {
            throw .invalidClient(
                "client_id '\(DevIssuerForm.printable(expectedClientID))' does not match the "
                    + "assertion's sub '\(clientID)'", clientID: clientID)
        }
        if let keyID = client.keyID, jws.keyID != keyID {
            let found = jws.keyID.map { "kid '\(DevIssuerForm.printable($0))'" } ?? "no kid"
            throw .invalidGrant(
                "the JWS header has \(found); client '\(clientID)' signs with key id '\(keyID)'",
                clientID: clientID)
        }
        let verified: Bool
        do {
            verified = try client.publicKey.verify(
                signature: jws.signature, message: jws.signingInput, algorithm: algorithm)
        } catch {
            throw .invalidGrant(
                "alg \(algorithm.rawValue) does not fit client '\(clientID)''s "
                    + "\(client.publicKey.type) key (its default is "
                    + "\(client.publicKey.defaultAlgorithm.rawValue))", clientID: clientID)
        }
        guard verified else {
            throw .invalidGrant(
                "signature verification failed with client '\(clientID)''s registered key",
                clientID: clientID)
        }
        try checkClaims(jws, audiences: audiences, clientID: clientID)
        return client
    }

    /// `aud`, `exp`, `iat`, `nbf` and `jti` of a verified assertion (RFC 7523 §3).
    private func checkClaims(_ jws: DevIssuerJWS, audiences: [String], clientID: String)
        throws(DevIssuerRejection)
    {
        func reject(_ detail: String) -> DevIssuerRejection {
            .invalidGrant(detail, clientID: clientID)
        }
        let accepted = audiences.joined(separator: " or ")
        guard let audience = try jws.audience() else {
            throw reject("the 'aud' claim is missing; it must contain \(accepted)")
        }
        guard audience.contains(where: audiences.contains) else {
            throw reject("aud must contain \(accepted)")
        }
        let now = nowSeconds
        guard let expiresAt = try jws.numericDate("exp") else {
            throw reject("the 'exp' claim is missing")
        }
        guard let issuedAt = try jws.numericDate("iat") else {
            throw reject("the 'iat' claim is missing")
        }
        guard now < expiresAt + Self.leeway else {
            throw reject(
                "the assertion expired at \(expiresAt), \(now - expiresAt) s ago; sign a new one")
        }
        guard issuedAt <= now + Self.leeway else {
            throw reject(
                "iat is \(issuedAt - now) s in the future (more than the \(Self.leeway) s "
                    + "leeway); check the client's clock")
        }
        guard expiresAt > issuedAt else { throw reject("exp is not after iat") }
        guard expiresAt - issuedAt <= Self.maximumAssertionLifetime else {
            throw reject(
                "the assertion is valid for \(expiresAt - issuedAt) s (exp − iat); at most "
                    + "\(Self.maximumAssertionLifetime) s is accepted")
        }
        if let notBefore = try jws.numericDate("nbf"), notBefore > now + Self.leeway {
            throw reject(
                "the assertion is not valid before \(notBefore), \(notBefore - now) s from now")
        }
        guard let jwtID = try jws.string("jti"), !jwtID.isEmpty else {
            throw reject("the 'jti' claim is missing; each assertion needs a unique jti")
        }
        guard jwtID.utf8.count <= 256 else { throw reject("jti is longer than 256 bytes") }
        let result = state.withLock {
            $0.useJTI(
                jwtID, clientID: clientID, rememberUntil: expiresAt + Self.leeway, now: now)
        }
        switch result {
        case .fresh: return
        case .reused: throw reject("jti reused: each assertion may be used only once")
        case .storeFull:
            var rejection = DevIssuerRejection.replayCacheFull()
            rejection.clientID = clientID
            throw rejection
        }
    }

    /// The JOSE algorithm named by `alg`; `none` and the HMAC algorithms are refused by name,
    /// since a key-pair client can never legitimately use them (RFC 7523 §3 item 9; RFC 8725
    /// §3.1–3.2).
    static func algorithm(named name: String) throws(DevIssuerRejection) -> JWSAlgorithm {
        if let algorithm = JWSAlgorithm(rawValue: name) { return algorithm }
        let supported = JWSAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
        if name.lowercased() == "none" {
            throw .invalidGrant("alg none is not accepted: assertions must be signed")
        }
        if name.uppercased().hasPrefix("HS") {
            throw .invalidGrant(
                "alg \(DevIssuerForm.printable(name)) (HMAC) is not accepted: sign with the "
                    + "client's private key (\(supported))")
        }
        throw .invalidGrant(
            "alg '\(DevIssuerForm.printable(name))' is not supported; use one of \(supported)")
    }
}

extension DevIssuer {
    /// RFC 7523 §2.2 client authentication (`private_key_jwt`): `client_assertion_type`,
    /// `client_assertion` and an optional `client_id` that must be the assertion's `sub`.
    /// Every failure is `invalid_client` (401).
    func authenticateClient(_ form: DevIssuerForm, audiences: [String])
        throws(DevIssuerRejection) -> Client
    {
        let type = form["client_assertion_type"]
        guard type != nil || form["client_assertion"] != nil else {
            throw .invalidClient(
                "client authentication is required: send client_assertion_type="
                    + "\(jwtBearerClientAssertionType) and a signed client_assertion "
                    + "(private_key_jwt)")
        }
        guard type == jwtBearerClientAssertionType else {
            throw .invalidClient("client_assertion_type must be \(jwtBearerClientAssertionType)")
        }
        guard let assertion = form["client_assertion"] else {
            throw .invalidClient("client_assertion is missing")
        }
        do {
            return try verifyAssertion(
                assertion, audiences: audiences, expectedClientID: form["client_id"])
        } catch {
            throw error.asClientAuthentication()
        }
    }
}
