import FoundationEssentials

/// What a guard decides about one introspection answer (pure; the proxy turns it into a
/// response or a forwarded request).
package enum GuardVerdict: Sendable, Equatable {
    /// Forward, adding these `(header, value)` pairs.
    case allow(headers: [GuardHeader])
    /// 401 `invalid_token` (RFC 6750 §3.1): inactive, expired, or for another audience. The
    /// reason goes to the caller as `error_description`; it never quotes the token.
    case invalidToken(String)
    /// 403 `insufficient_scope` (RFC 6750 §3.1), naming the scopes the route requires.
    case insufficientScope(required: [String])
}

/// A request header to add for the upstream.
package struct GuardHeader: Sendable, Equatable {
    package var name: String
    package var value: String

    package init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

extension ProxyGuardConfiguration {
    /// Judges `answer` at `unixNow` (seconds since the epoch). Claim values that cannot be a
    /// header value (control characters) are left out rather than forwarded broken.
    package func verdict(for answer: IntrospectionAnswer, unixNow: Double) -> GuardVerdict {
        guard answer.active else { return .invalidToken("the access token is not active") }
        if let expiresAt = answer.expiresAt, Double(expiresAt) <= unixNow {
            return .invalidToken("the access token expired")
        }
        if let notBefore = answer.notBefore, Double(notBefore) > unixNow + 60 {
            return .invalidToken("the access token is not valid yet")
        }
        if let requireAudience, !answer.audience.contains(requireAudience) {
            return .invalidToken("the access token is not meant for this API (aud)")
        }
        let granted = Set(answer.scopes)
        guard requireScopes.allSatisfy(granted.contains) else {
            return .insufficientScope(required: requireScopes)
        }
        var headers: [GuardHeader] = []
        for entry in forwardClaims {
            guard let value = entry.claim.value(in: answer), HTTPFields.isValidValue(value)
            else { continue }
            headers.append(GuardHeader(name: entry.header, value: value))
        }
        return .allow(headers: headers)
    }
}
