/// Request counts of a `DevIssuer`, for tests and for `tokenproxy dev` to show what happened.
package struct DevIssuerStats: Sendable, Equatable {
    /// A token request's client and outcome.
    package struct TokenOutcome: Sendable, Hashable {
        /// The registered client, or nil when the request never established one (unknown
        /// client, malformed request). Unknown ids are not recorded, so the map stays bounded.
        package var clientID: String?
        /// `issued`, or the OAuth error code sent back.
        package var outcome: String

        package init(clientID: String?, outcome: String) {
            self.clientID = clientID
            self.outcome = outcome
        }
    }

    /// Every request handled, whatever the endpoint or answer.
    package var requests = 0
    /// Token endpoint requests by client and outcome.
    package var tokenRequests: [TokenOutcome: Int] = [:]
    /// Introspection requests (any outcome).
    package var introspectionRequests = 0
    /// Userinfo requests (any outcome).
    package var userinfoRequests = 0
    /// Discovery and JWKS requests.
    package var metadataRequests = 0

    package init() {}

    /// Token requests of `clientID` that ended with `outcome` (`issued` or an error code).
    package func tokenRequests(clientID: String?, outcome: String) -> Int {
        tokenRequests[TokenOutcome(clientID: clientID, outcome: outcome)] ?? 0
    }

    /// Tokens issued to `clientID`.
    package func issued(to clientID: String) -> Int {
        tokenRequests(clientID: clientID, outcome: "issued")
    }

    mutating func recordToken(clientID: String?, outcome: String) {
        tokenRequests[TokenOutcome(clientID: clientID, outcome: outcome), default: 0] += 1
    }
}
