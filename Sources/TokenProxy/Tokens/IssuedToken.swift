import TokenProxyCore

/// What the daemon holds per credential: the token, what the IdP said about it, and the parts
/// of every answer that never change for this token, serialized once when it arrives so that
/// the token API and the proxy copy bytes instead of building them per request. Everything
/// that contains the token travels `Redacted`.
package struct IssuedToken: Sendable {
    /// The access token (RFC 6749 §5.1).
    package let accessToken: Redacted<String>
    /// The IdP's `token_type`, as sent.
    package let tokenType: String
    /// The IdP's `scope`, if it sent one.
    package let scope: String?
    /// `Bearer <token>`, the proxy's `Authorization` value (RFC 6750 §2.1).
    package let authorization: Redacted<String>
    /// The token API's `text/plain` body: the bare token.
    package let plainBody: Redacted<[UInt8]>
    /// The token API's JSON body up to `expires_in`'s value, which counts down and is filled in
    /// per answer (see ``jsonBody(expiresIn:expiresAt:)``).
    private let jsonHead: Redacted<[UInt8]>

    package init(accessToken: Redacted<String>, tokenType: String, scope: String?) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.scope = scope
        authorization = Redacted("Bearer " + accessToken.value)
        plainBody = Redacted(Array(accessToken.value.utf8))
        let head =
            "{\"access_token\":" + JSONText.string(accessToken.value) + ",\"token_type\":"
            + JSONText.string(tokenType) + ",\"expires_in\":"
        jsonHead = Redacted(Array(head.utf8))
    }

    /// The token API's JSON body, in the shape of a cloud metadata token endpoint:
    /// `{"access_token","token_type","expires_in","expires_at"}` (`expires_at` in Unix seconds).
    package func jsonBody(expiresIn: Int64, expiresAt: Int64) -> [UInt8] {
        let tail = String(expiresIn) + ",\"expires_at\":" + String(expiresAt) + "}"
        var body = jsonHead.value
        body.reserveCapacity(body.count + tail.utf8.count)
        body.append(contentsOf: tail.utf8)
        return body
    }
}
