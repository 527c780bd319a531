import FoundationEssentials
import Synchronization
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

/// Signs assertions and exchanges them for access tokens at a credential's token endpoint,
/// with either grant. Discovery documents are cached per issuer.
///
/// One instance is shared by everything in the process; it is `Sendable` and holds no
/// per-credential state besides the discovery cache.
package final class OAuthTokenClient: Sendable {
    let http: HTTPClient
    private let now: @Sendable () -> Date
    private let discoveryCache = Mutex<[String: CachedMetadata]>([:])

    private struct CachedMetadata: Sendable {
        var metadata: ProviderMetadata
        var fetchedAt: Date
    }

    package init(http: HTTPClient, now: @escaping @Sendable () -> Date = { Date() }) {
        self.http = http
        self.now = now
    }

    /// Builds the client with its own HTTP client (system trust store plus `caFile`, proxies
    /// from the environment).
    package convenience init(caFile: String? = nil, environment: [String: String]) throws {
        var configuration = HTTPClientConfiguration()
        configuration.tls = TLSClientConfiguration(caFile: caFile)
        configuration.proxy = ProxySettings.fromEnvironment(environment)
        self.init(http: try HTTPClient(configuration: configuration))
    }

    /// The result of one successful exchange.
    package struct Result: Sendable {
        package var response: TokenResponse
        /// The token endpoint used.
        package var endpoint: URL
        /// Things the operator should know although the exchange worked (clock skew).
        package var warnings: [String]
    }

    /// Signs an assertion for `credential` with the given audience (its configured audience,
    /// or the issuer, when nil).
    package func makeAssertion(for credential: Credential, audience: [String]? = nil)
        throws(OAuthError) -> Redacted<String>
    {
        do {
            let signer = try AssertionSigner(key: credential.key, algorithm: credential.algorithm)
            return try signer.makeAssertion(
                audience: audience ?? credential.assertionAudience ?? [credential.issuerString],
                lifetime: credential.assertionLifetime, skew: credential.clockSkewAllowance,
                now: now())
        } catch {
            throw .key(credential: credential.name, detail: "\(error)")
        }
    }

    /// Obtains a fresh access token: discovery (cached) when no endpoint is configured, a new
    /// assertion, one POST to the token endpoint.
    package func fetchToken(for credential: Credential) async throws(OAuthError) -> Result {
        let endpoint = try await tokenEndpoint(for: credential)
        try requireSafeTransport(endpoint, credential: credential)
        let assertion = try makeAssertion(for: credential)
        var form: [(String, String)] = [("grant_type", credential.grant.formValue)]
        switch credential.grant {
        case .jwtBearer:
            form.append(("assertion", assertion.value))
        case .clientCredentials:
            form.append(("client_id", credential.key.clientID))
            form.append(("client_assertion_type", jwtBearerClientAssertionType))
            form.append(("client_assertion", assertion.value))
        }
        if !credential.scopes.isEmpty {
            form.append(("scope", credential.scopes.joined(separator: " ")))
        }
        for resource in credential.resources { form.append(("resource", resource)) }
        form.append(contentsOf: credential.extraParameters)

        let response = try await send(Self.formPost(form, to: endpoint)) {
            OAuthError.transport(
                credential: credential.name, endpoint: endpoint.absoluteString, detail: $0)
        }
        let receivedAt = now()
        let clockNote = ClockCheck.note(
            dateHeader: response.headers["Date"], localTime: receivedAt,
            allowance: credential.clockSkewAllowance)

        guard (200..<300).contains(response.status) else {
            var rejection = TokenEndpointRejection(
                status: response.status, contentType: response.headers["Content-Type"],
                body: response.body, secrets: [assertion.value])
            rejection.clockNote = clockNote
            rejection.retryAfter = TokenEndpointRejection.parseRetryAfter(
                response.headers["Retry-After"], now: receivedAt)
            rejection.request = TokenRequestSummary(
                clientID: credential.key.clientID, keyID: credential.key.keyID,
                audience: credential.assertionAudience ?? [credential.issuerString],
                issuer: credential.issuerString, tokenEndpoint: endpoint.absoluteString,
                scopes: credential.scopes)
            throw .rejected(
                credential: credential.name, endpoint: endpoint.absoluteString,
                rejection: rejection)
        }
        switch TokenResponse.parse(response.body, receivedAt: receivedAt) {
        case .success(let token):
            return Result(
                response: token, endpoint: endpoint, warnings: clockNote.map { [$0] } ?? [])
        case .failure(let failure):
            let detail: String
            switch failure {
            case .notJSON: detail = "the body is not a JSON object"
            case .missingAccessToken: detail = "the response has no access_token"
            case .badExpiresIn: detail = "expires_in is not a non-negative number of seconds"
            }
            throw .malformedResponse(
                credential: credential.name, endpoint: endpoint.absoluteString,
                status: response.status, detail: detail)
        }
    }

    /// The configured token endpoint, or the discovered one.
    package func tokenEndpoint(for credential: Credential) async throws(OAuthError) -> URL {
        if let endpoint = credential.tokenEndpoint { return endpoint }
        return try await metadata(for: credential).tokenEndpoint
    }

    /// The issuer's discovery document, from cache when fresh.
    package func metadata(for credential: Credential) async throws(OAuthError) -> ProviderMetadata {
        let issuer = credential.issuerString
        let current = now()
        if let cached = discoveryCache.withLock({ $0[issuer] }),
            current.timeIntervalSince(cached.fetchedAt) < Limits.IdP.discoveryTTLSeconds
        {
            return cached.metadata
        }
        guard let url = ProviderMetadata.discoveryURL(issuer: issuer) else {
            throw .configuration(
                credential: credential.name, detail: "issuer '\(issuer)' is not a valid URL")
        }
        try requireSafeTransport(url, credential: credential)
        let response = try await send(Self.jsonGet(url)) {
            OAuthError.discovery(credential: credential.name, url: url.absoluteString, detail: $0)
        }
        guard response.status == 200 else {
            var rejection = TokenEndpointRejection(
                status: response.status, contentType: response.headers["Content-Type"],
                body: response.body, secrets: [])
            rejection.retryAfter = TokenEndpointRejection.parseRetryAfter(
                response.headers["Retry-After"], now: now())
            throw .discoveryRejected(
                credential: credential.name, url: url.absoluteString, rejection: rejection)
        }
        let metadata: ProviderMetadata
        do {
            metadata = try JSONDecoder().decode(ProviderMetadata.self, from: Data(response.body))
        } catch {
            throw .discovery(
                credential: credential.name, url: url.absoluteString,
                detail: "the document is not valid discovery JSON with a token_endpoint")
        }
        // OIDC Discovery §4.3: the document must be for the issuer we asked about.
        var stated = metadata.issuer
        while stated.hasSuffix("/") { stated.removeLast() }
        guard stated == issuer else {
            throw .discovery(
                credential: credential.name, url: url.absoluteString,
                detail:
                    "the document is for issuer '\(metadata.issuer)', not '\(issuer)': use that exact issuer URL"
            )
        }
        discoveryCache.withLock {
            $0[issuer] = CachedMetadata(metadata: metadata, fetchedAt: current)
        }
        return metadata
    }

    /// Assertions and tokens must not cross a network in clear text; plain `http://` is only
    /// allowed to loopback (test servers, sidecars on the same host).
    func requireSafeTransport(_ url: URL, credential: Credential) throws(OAuthError) {
        guard url.scheme?.lowercased() == "http" else { return }
        let host = (url.host ?? "").lowercased()
        if host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]" {
            return
        }
        throw .configuration(
            credential: credential.name,
            detail:
                "\(url.absoluteString) uses plain http to a non-loopback host, which would expose "
                + "assertions and tokens on the network: use https")
    }
}
