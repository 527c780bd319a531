/// A loaded service-user key: what signs, and who the assertions say they come from.
package struct ServiceKey: Sendable {
    /// Where the key came from; decides how the identity was found.
    package enum Source: Sendable, Equatable {
        /// A ZITADEL service-user key file (`"type":"serviceaccount"`).
        case zitadelServiceAccount(userID: String)
        /// A ZITADEL application key file (`"type":"application"`).
        case zitadelApplication(appID: String, clientID: String)
        /// A bare PEM key; the client id came from the configuration.
        case pem
    }

    /// Where the key came from.
    package let source: Source
    /// The JWS `kid` header, nil to omit it.
    package let keyID: String?
    /// The `iss` and `sub` of assertions: the user id (service account), the client id
    /// (application), or the configured client id (PEM).
    package let clientID: String
    /// The signing key.
    package let privateKey: PrivateKey

    package init(source: Source, keyID: String?, clientID: String, privateKey: PrivateKey) {
        self.source = source
        self.keyID = keyID
        self.clientID = clientID
        self.privateKey = privateKey
    }
}
