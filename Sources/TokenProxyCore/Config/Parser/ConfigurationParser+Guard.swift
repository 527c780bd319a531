/// `proxy.routes[].guard`.
extension ConfigurationParser {
    static let guardKeys = [
        "credential", "require_scopes", "require_audience", "forward_claims", "forward_token",
    ]
    /// Headers a claim may not be forwarded in: the proxy sets or frames them itself.
    static let reservedGuardHeaders: Set<String> = [
        "authorization", "proxy-authorization", "host", "content-length", "transfer-encoding",
        "connection", "upgrade", "te", "trailer", "keep-alive", "via", "x-forwarded-for",
        "x-forwarded-proto", "cookie",
    ]

    static func parseGuard(
        _ route: ConfigObject, credentials: [String], injects: Bool, decoder: inout ConfigDecoder
    ) -> ProxyGuardConfiguration? {
        guard let object = decoder.object(route, "guard", keys: guardKeys) else { return nil }
        let path = object.path
        let problemsBefore = decoder.problems.count
        let credential = decoder.string(object, "credential", required: true)
        if let credential {
            checkCredentialReference(
                credential, at: path.appending("credential"), credentials: credentials,
                decoder: &decoder)
        }
        let scopes = decoder.stringArray(object, "require_scopes") ?? []
        for (index, scope) in scopes.enumerated() {
            checkScope(
                scope, at: path.appending("require_scopes").appending(index: index),
                decoder: &decoder)
        }
        let audience = decoder.string(object, "require_audience")
        var claims: [ProxyGuardConfiguration.ClaimHeader] = []
        if let map = decoder.object(object, "forward_claims", keys: nil) {
            var seen: Set<String> = []
            for member in map.members {
                let memberPath = map.path.appending(member.key)
                guard let claim = GuardClaim(rawValue: member.key) else {
                    let names = GuardClaim.allCases.map(\.rawValue).joined(separator: ", ")
                    decoder.report(memberPath, "unknown claim; forward one of \(names)")
                    continue
                }
                guard let header = decoder.string(member.value, at: memberPath) else { continue }
                let lowered = header.lowercased()
                if !HTTPFields.isValidName(header) {
                    decoder.report(memberPath, "'\(header)' is not a valid header name")
                } else if reservedGuardHeaders.contains(lowered) {
                    decoder.report(
                        memberPath, "'\(header)' is set by the proxy itself; use an X-… header")
                } else if !seen.insert(lowered).inserted {
                    decoder.report(
                        memberPath, "header '\(header)' is already used by another claim")
                } else {
                    claims.append(.init(claim: claim, header: header))
                }
            }
        }
        let forwardToken = decoder.bool(object, "forward_token") ?? false
        if forwardToken, injects {
            decoder.report(
                path.appending("forward_token"),
                "cannot be true on a route with a credential: the upstream gets tokenproxy's own token "
                    + "in Authorization; remove the route's credential to pass the caller's token on"
            )
        }
        if case .bool(true)? = route["keep_client_authorization"] {
            decoder.report(
                route.path.appending("keep_client_authorization"),
                "does not go with a guard; use guard.forward_token to pass the caller's token on")
        }
        guard decoder.problems.count == problemsBefore, let credential else { return nil }
        return ProxyGuardConfiguration(
            credential: credential, requireScopes: scopes, requireAudience: audience,
            forwardClaims: claims, forwardToken: forwardToken)
    }
}
