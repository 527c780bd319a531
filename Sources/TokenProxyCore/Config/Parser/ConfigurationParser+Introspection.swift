import FoundationEssentials

/// `credentials.*.introspection`.
extension ConfigurationParser {
    static let introspectionKeys = [
        "mode", "cache_ttl", "inactive_ttl", "audience", "introspection_endpoint",
        "token_audience",
    ]

    static func parseIntrospection(_ parent: ConfigObject, decoder: inout ConfigDecoder)
        -> IntrospectionConfiguration
    {
        var result = IntrospectionConfiguration()
        guard let object = decoder.object(parent, "introspection", keys: introspectionKeys)
        else { return result }
        if let mode: IntrospectionMode = decoder.choice(object, "mode") { result.mode = mode }
        let maxActive = Double(Limits.Introspection.maxCacheTTL.components.seconds)
        if let ttl = decoder.number(object, "cache_ttl", in: 0...maxActive, unit: "seconds") {
            result.cacheTTL = .milliseconds(Int64(ttl * 1000))
        }
        let maxInactive = Double(Limits.Introspection.maxInactiveTTL.components.seconds)
        if let ttl = decoder.number(object, "inactive_ttl", in: 0...maxInactive, unit: "seconds") {
            result.inactiveTTL = .milliseconds(Int64(ttl * 1000))
        }
        result.audience = decoder.stringOrStringArray(object, "audience")
        result.endpoint = decoder.string(object, "introspection_endpoint").flatMap {
            checkURL(
                $0, at: object.path.appending("introspection_endpoint"), isIssuer: false,
                decoder: &decoder)
        }
        result.tokenAudience = decoder.string(object, "token_audience")
        if result.mode.validatesJWT, result.tokenAudience == nil {
            decoder.report(
                object.path.appending("token_audience"),
                "required with mode '\(result.mode.rawValue)': the aud a JWT access token must carry "
                    + "for this API (in ZITADEL the project id)")
        }
        return result
    }
}
