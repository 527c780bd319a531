import TokenProxy
import TokenProxyCore
import TokenProxyCrypto

extension DevIssuer {
    /// A client the dev issuer knows: who it is, the public key its assertions must verify
    /// with, and what it may ask for.
    package struct Client: Sendable {
        /// The `iss` and `sub` of its assertions, and the token's `client_id`/`sub`.
        package var clientID: String
        /// Verifies its assertions.
        package var publicKey: PublicKey
        /// When set, assertions must carry this `kid` (as ZITADEL requires); also the JWKS `kid`.
        package var keyID: String?
        /// The grants it may use; others are `unauthorized_client`.
        package var grants: Set<GrantType>
        /// The scopes it may be granted; a request for anything else is `invalid_scope`.
        /// A request without `scope` is granted all of them (RFC 6749 §3.3 lets the server
        /// choose a default, and a dev issuer should show something).
        package var scopes: Set<String>
        /// The userinfo `name`.
        package var name: String

        package init(
            clientID: String, publicKey: PublicKey, keyID: String? = nil,
            grants: Set<GrantType> = Set(GrantType.allCases), scopes: Set<String> = ["openid"],
            name: String? = nil
        ) {
            self.clientID = clientID
            self.publicKey = publicKey
            self.keyID = keyID
            self.grants = grants
            self.scopes = scopes
            self.name = name ?? "tokenproxy dev client \(clientID)"
        }
    }
}
