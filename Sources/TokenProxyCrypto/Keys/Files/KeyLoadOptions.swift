/// How `KeyFileLoader` interprets a key file.
package struct KeyLoadOptions: Sendable {
    /// Overrides the identity in a ZITADEL file; required for PEM files.
    package var clientID: String?
    /// Overrides the `keyId` of a ZITADEL file; optional `kid` for PEM files.
    package var keyID: String?
    /// Accept key files readable by group or others (for example a group-shared secret mount).
    package var allowInsecurePermissions: Bool

    package init(
        clientID: String? = nil, keyID: String? = nil, allowInsecurePermissions: Bool = false
    ) {
        self.clientID = clientID
        self.keyID = keyID
        self.allowInsecurePermissions = allowInsecurePermissions
    }
}
