import FoundationEssentials
import TokenProxyCore
import TokenProxyNet

/// RFC 7662 token introspection with the credential's key as client authentication
/// (`private_key_jwt`: RFC 7523 §2.2, OIDC Core §9), as ZITADEL API applications do it.
extension OAuthTokenClient {
    /// The configured introspection endpoint, or discovery's `introspection_endpoint`.
    package func introspectionEndpoint(for credential: Credential) async throws(IntrospectionError)
        -> URL
    {
        if let endpoint = credential.introspection.endpoint { return endpoint }
        let metadata: ProviderMetadata
        do {
            metadata = try await self.metadata(for: credential)
        } catch {
            throw .discovery(error)
        }
        guard let endpoint = metadata.introspectionEndpoint else {
            throw .configuration(
                credential: credential.name,
                detail:
                    "the issuer's discovery document has no introspection_endpoint: set "
                    + "credentials.\(credential.name).introspection.introspection_endpoint")
        }
        return endpoint
    }

    /// One introspection request (RFC 7662 §2.1): the token, an optional `token_type_hint`,
    /// and a fresh client assertion whose `aud` is `introspection.audience` or the issuer.
    package func introspect(
        _ token: Redacted<String>, hint: String?, for credential: Credential
    ) async throws(IntrospectionError) -> IntrospectionAnswer {
        let endpoint = try await introspectionEndpoint(for: credential)
        do {
            try requireSafeTransport(endpoint, credential: credential)
        } catch {
            throw .configuration(credential: credential.name, detail: "\(error)")
        }
        let assertion: Redacted<String>
        do {
            assertion = try makeAssertion(
                for: credential,
                audience: credential.introspection.audience ?? [credential.issuerString])
        } catch {
            throw .configuration(credential: credential.name, detail: "\(error)")
        }
        var form: [(String, String)] = [("token", token.value)]
        if let hint { form.append(("token_type_hint", hint)) }
        form.append(("client_id", credential.key.clientID))
        form.append(("client_assertion_type", jwtBearerClientAssertionType))
        form.append(("client_assertion", assertion.value))
        let response = try await send(Self.formPost(form, to: endpoint)) {
            IntrospectionError.transport(
                credential: credential.name, endpoint: endpoint.absoluteString, detail: $0)
        }
        guard response.status == 200 else {
            // The server may quote what it got: neither the token nor the assertion is echoed.
            let rejection = TokenEndpointRejection(
                status: response.status, contentType: response.headers["Content-Type"],
                body: response.body, secrets: [assertion.value, token.value])
            throw .rejected(
                credential: credential.name, endpoint: endpoint.absoluteString,
                rejection: rejection)
        }
        switch IntrospectionAnswer.parse(response.body) {
        case .success(let answer):
            return answer
        case .failure(let failure):
            throw .malformedResponse(
                credential: credential.name, endpoint: endpoint.absoluteString,
                status: response.status, detail: failure.description)
        }
    }
}
