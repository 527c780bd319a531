import FoundationEssentials
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

extension OAuthTokenClient {
    /// The issuer's signing keys from discovery's `jwks_uri` (RFC 8414 §2, RFC 7517 §5).
    package func fetchJWKS(for credential: Credential) async throws(IntrospectionError)
        -> [JSONWebKey]
    {
        let metadata: ProviderMetadata
        do {
            metadata = try await self.metadata(for: credential)
        } catch {
            throw .discovery(error)
        }
        guard let url = metadata.jwksURI else {
            throw .configuration(
                credential: credential.name,
                detail:
                    "the issuer's discovery document has no jwks_uri, so JWT access tokens cannot be "
                    + "validated locally: use introspection.mode 'introspect'")
        }
        do {
            try requireSafeTransport(url, credential: credential)
        } catch {
            throw .configuration(credential: credential.name, detail: "\(error)")
        }
        let response = try await send(Self.jsonGet(url)) {
            IntrospectionError.transport(
                credential: credential.name, endpoint: url.absoluteString, detail: $0)
        }
        guard response.status == 200 else {
            throw .rejected(
                credential: credential.name, endpoint: url.absoluteString,
                rejection: TokenEndpointRejection(
                    status: response.status, contentType: response.headers["Content-Type"],
                    body: response.body, secrets: []))
        }
        do {
            return try JSONWebKey.keySet(from: response.body)
        } catch {
            throw .malformedResponse(
                credential: credential.name, endpoint: url.absoluteString,
                status: response.status, detail: "the body is not a JWKS ({\"keys\": [...]})")
        }
    }
}
