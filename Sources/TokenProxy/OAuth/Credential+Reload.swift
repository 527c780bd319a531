import TokenProxyCore

extension Credential {
    /// What a reload may do with the token a credential holds.
    package enum ReloadChange: Sendable, Equatable {
        /// Nothing that affects tokens changed: keep the token and its schedule.
        case unchanged
        /// Settings changed (scopes, audience, endpoint, refresh policy…) but the identity did
        /// not: the old token keeps serving while a new one is fetched in the background.
        case refetch
        /// The key or the issuer changed (or the credential is new): the old token belongs to
        /// another identity and is dropped; callers wait for the first fetch.
        case replace
    }

    /// How the credential `next` (from the new configuration) relates to `self` (the running
    /// one); `policy`/`nextPolicy` are their refresh policies.
    package func reloadChange(
        to next: Credential, policy: RefreshPolicy?, nextPolicy: RefreshPolicy?
    ) -> ReloadChange {
        guard keyIdentity == next.keyIdentity, issuerString == next.issuerString else {
            return .replace
        }
        return requestSettings == next.requestSettings && policy == nextPolicy
            ? .unchanged : .refetch
    }

    /// The key as the IdP sees it: client id, key id and public key. A key file rewritten with
    /// the same key counts as unchanged.
    var keyIdentity: String {
        let publicKey = (try? key.privateKey.publicKeyPEM()) ?? "unreadable"
        return "\(key.clientID)\n\(key.keyID ?? "")\n\(publicKey)"
    }

    /// Everything besides the key and issuer that goes into a token request.
    var requestSettings: [String] {
        [
            tokenEndpoint?.absoluteString ?? "", grant.rawValue, scopes.joined(separator: " "),
            (assertionAudience ?? []).joined(separator: " "), resources.joined(separator: " "),
            extraParameters.map { "\($0.0)=\($0.1)" }.joined(separator: "&"),
            algorithm?.rawValue ?? "", caFile ?? "", "\(assertionLifetime)",
            "\(clockSkewAllowance)",
            // Adding or changing the rotation's new key re-fetches in the background.
            nextKey.map { (try? $0.privateKey.publicKeyPEM()) ?? "unreadable" } ?? "",
        ]
    }
}
