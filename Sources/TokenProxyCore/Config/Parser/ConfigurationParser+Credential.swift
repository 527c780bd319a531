import FoundationEssentials

extension ConfigurationParser {
    static let credentialKeys = [
        "key_file", "issuer", "grant", "scopes", "client_id", "key_id", "audience",
        "token_endpoint",
        "resources", "extra_params", "algorithm", "assertion_lifetime", "clock_skew", "ca_file",
        "allow_insecure_key_permissions", "refresh", "sinks", "next_key", "introspection",
        "fetch_tokens", "allow",
    ]
    static let refreshKeys = [
        "fraction", "before_expiry", "min_before_expiry", "jitter", "backoff_initial",
        "backoff_max",
        "default_lifetime",
    ]
    /// Form parameters tokenproxy writes itself; `extra_params` may not override them.
    static let reservedParameters: [String: String] = [
        "grant_type": "set it with 'grant'", "scope": "use 'scopes'", "resource": "use 'resources'",
        "assertion": "tokenproxy signs it", "client_assertion": "tokenproxy signs it",
        "client_assertion_type": "tokenproxy sets it",
        "client_id": "use 'client_id' of the credential",
    ]

    static func parseCredential(
        _ member: ConfigJSON.Member, in parent: ConfigObject, decoder: inout ConfigDecoder
    )
        -> CredentialConfiguration?
    {
        let name = member.key
        let path = parent.path.appending(name)
        let problemsBefore = decoder.problems.count
        checkCredentialName(name, at: path, decoder: &decoder)
        guard let object = decoder.object(member.value, at: path, keys: credentialKeys) else {
            return nil
        }

        let keySource = decoder.string(object, "key_file", required: true).flatMap {
            parseKeySource($0, at: path.appending("key_file"), decoder: &decoder)
        }
        let issuer = decoder.string(object, "issuer", required: true).flatMap {
            checkURL($0, at: path.appending("issuer"), isIssuer: true, decoder: &decoder)
        }
        let grant: GrantType? = decoder.choice(object, "grant")
        let scopes = decoder.stringArray(object, "scopes") ?? []
        for (index, scope) in scopes.enumerated() {
            checkScope(
                scope, at: path.appending("scopes").appending(index: index), decoder: &decoder)
        }
        let clientID = decoder.string(object, "client_id")
        let keyID = decoder.string(object, "key_id")
        let audience = decoder.stringOrStringArray(object, "audience")
        let tokenEndpoint = decoder.string(object, "token_endpoint").flatMap {
            checkURL($0, at: path.appending("token_endpoint"), isIssuer: false, decoder: &decoder)
        }
        let resources = decoder.stringArray(object, "resources") ?? []
        for (index, resource) in resources.enumerated() {
            checkResource(
                resource, at: path.appending("resources").appending(index: index), decoder: &decoder
            )
        }
        let extraParameters = parseExtraParameters(object, decoder: &decoder)
        let algorithm: SigningAlgorithm? = decoder.choice(object, "algorithm")
        let lifetime = decoder.number(
            object, "assertion_lifetime", in: 1...Limits.Assertion.maxLifetime.configSeconds,
            unit: "seconds", wholeNumber: true)
        let skew = decoder.number(
            object, "clock_skew", in: 0...300, unit: "seconds", wholeNumber: true)
        if let skew,
            skew >= lifetime ?? Limits.Assertion.defaultLifetime.configSeconds
        {
            decoder.report(
                path.appending("clock_skew"),
                "must be less than assertion_lifetime, or assertions would expire before they are signed"
            )
        }
        let caFile = decoder.string(object, "ca_file").flatMap {
            checkAbsolutePath($0, at: path.appending("ca_file"), decoder: &decoder)
        }
        let insecure = decoder.bool(object, "allow_insecure_key_permissions") ?? false
        let refresh = parseRefresh(object, decoder: &decoder)
        let allow = parseAllow(object, decoder: &decoder)
        let introspection = parseIntrospection(object, decoder: &decoder)
        let fetchTokens = decoder.bool(object, "fetch_tokens") ?? true
        let sinks = parseSinks(object, decoder: &decoder)
        var nextKey: KeyReference?
        if let next = decoder.object(object, "next_key", keys: ["key_file", "key_id"]) {
            let source = decoder.string(next, "key_file", required: true).flatMap {
                parseKeySource($0, at: next.path.appending("key_file"), decoder: &decoder)
            }
            if let source {
                nextKey = KeyReference(source: source, keyID: decoder.string(next, "key_id"))
                if source == keySource {
                    decoder.report(
                        next.path.appending("key_file"), "is the same file as key_file")
                }
            }
        }

        guard decoder.problems.count == problemsBefore, let keySource, let issuer else {
            return nil
        }
        var credential = CredentialConfiguration(
            name: name, keySource: keySource, issuer: issuer, grant: grant, scopes: scopes,
            clientID: clientID,
            keyID: keyID, audience: audience, tokenEndpoint: tokenEndpoint, resources: resources,
            extraParameters: extraParameters, algorithm: algorithm,
            assertionLifetime: lifetime.map { .seconds($0) }
                ?? Limits.Assertion.defaultLifetime,
            clockSkew: skew.map { .seconds($0) } ?? Limits.Assertion.defaultClockSkew,
            caFile: caFile,
            allowInsecureKeyPermissions: insecure, refresh: refresh, introspection: introspection,
            fetchTokens: fetchTokens, allow: allow)
        credential.sinks = sinks
        credential.nextKey = nextKey
        return credential
    }

    static func parseExtraParameters(_ object: ConfigObject, decoder: inout ConfigDecoder)
        -> [String:
        String]
    {
        guard let params = decoder.object(object, "extra_params", keys: nil) else { return [:] }
        var result: [String: String] = [:]
        for member in params.members {
            let path = params.path.appending(member.key)
            if let reason = reservedParameters[member.key] {
                decoder.report(path, "tokenproxy sends this parameter itself; \(reason)")
            } else if let value = decoder.string(member.value, at: path) {
                result[member.key] = value
            }
        }
        return result
    }

    static func parseRefresh(_ parent: ConfigObject, decoder: inout ConfigDecoder)
        -> RefreshConfiguration
    {
        var refresh = RefreshConfiguration()
        guard let object = decoder.object(parent, "refresh", keys: refreshKeys) else {
            return refresh
        }
        func seconds(_ key: String, _ range: ClosedRange<Double>, _ decoder: inout ConfigDecoder)
            -> Duration?
        {
            decoder.number(object, key, in: range, unit: "seconds").map { .seconds($0) }
        }
        refresh.fraction = decoder.number(object, "fraction", in: 0.01...0.99) ?? refresh.fraction
        refresh.jitter = decoder.number(object, "jitter", in: 0...0.5) ?? refresh.jitter
        let beforeExpiry = seconds("before_expiry", 0...86400, &decoder)
        let minimum = seconds("min_before_expiry", 0...86400, &decoder)
        refresh.beforeExpiry = beforeExpiry ?? refresh.beforeExpiry
        // An explicit before_expiry below the default minimum lowers the minimum with it, so
        // setting one key never forces the operator to set the other.
        refresh.minimumBeforeExpiry =
            minimum ?? min(refresh.minimumBeforeExpiry, refresh.beforeExpiry)
        if let minimum, let beforeExpiry, minimum > beforeExpiry {
            decoder.report(
                object.path.appending("min_before_expiry"),
                "must not exceed before_expiry (\(ConfigJSON.format(minimum.configSeconds)) > \(ConfigJSON.format(beforeExpiry.configSeconds)) seconds)"
            )
        }
        let initial = seconds("backoff_initial", 0.1...3600, &decoder)
        let maximum = seconds("backoff_max", 1...86400, &decoder)
        refresh.backoffInitial = initial ?? refresh.backoffInitial
        refresh.backoffMaximum = maximum ?? refresh.backoffMaximum
        if refresh.backoffMaximum < refresh.backoffInitial, initial != nil || maximum != nil {
            decoder.report(
                object.path.appending(maximum != nil ? "backoff_max" : "backoff_initial"),
                "backoff_max must be at least backoff_initial "
                    + "(\(ConfigJSON.format(refresh.backoffMaximum.configSeconds)) < "
                    + "\(ConfigJSON.format(refresh.backoffInitial.configSeconds)) seconds)")
        }
        refresh.defaultLifetime =
            seconds("default_lifetime", 1...86400, &decoder) ?? refresh.defaultLifetime
        return refresh
    }
}

extension Duration {
    /// Whole and fractional seconds, for messages and comparisons with configured numbers.
    /// File-private so it cannot clash with a similar helper elsewhere in the module.
    fileprivate var configSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
