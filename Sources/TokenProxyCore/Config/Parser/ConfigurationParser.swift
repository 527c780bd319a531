/// Turns the bytes of a configuration file into a `Configuration`, or into a
/// `ConfigurationError` listing every problem in it. The one place configuration is validated:
/// `serve`, `check` and SIGHUP reloads all come through here. No I/O: see `ConfigLoader`.
package enum ConfigurationParser {
    static let topLevelKeys = ["$schema", "api", "credentials", "log", "proxy", "operations"]
    static let apiKeys = [
        "socket", "socket_mode", "socket_group", "allowed_uids", "allowed_gids", "tcp",
        "event_loops", "busy_poll_us",
        "max_connections",
    ]
    static let tcpKeys = ["listen", "required_header", "required_header_value"]
    static let logKeys = ["level"]

    /// Parses and validates a whole configuration file. `file` only labels the problems.
    package static func parse(_ bytes: [UInt8], file: String) throws(ConfigurationError)
        -> Configuration
    {
        let document: ConfigJSON
        do {
            document = try ConfigJSON.parse(bytes)
        } catch {
            let problem = ConfigurationProblem(
                path: "line \(error.line), column \(error.column)",
                message: "invalid JSON: \(error.message)")
            throw ConfigurationError(file: file, problems: [problem])
        }
        var decoder = ConfigDecoder()
        let configuration = parse(document, decoder: &decoder)
        guard decoder.problems.isEmpty, let configuration else {
            throw ConfigurationError(file: file, problems: decoder.problems)
        }
        return configuration
    }

    /// Validates an already parsed document, reporting into `decoder`; `nil` if anything is wrong.
    package static func parse(_ document: ConfigJSON, decoder: inout ConfigDecoder)
        -> Configuration?
    {
        let problemsBefore = decoder.problems.count
        guard let root = decoder.object(document, at: .root, keys: topLevelKeys) else { return nil }
        _ = decoder.string(root, "$schema")
        let api = root["api"] == nil ? APIConfiguration() : parseAPI(root, decoder: &decoder)
        let credentials = parseCredentials(root, decoder: &decoder)
        var log = LogConfiguration()
        if let object = decoder.object(root, "log", keys: logKeys) {
            log.level = decoder.choice(object, "level") ?? log.level
        }
        let proxy = parseProxy(root, api: api, decoder: &decoder)
        let operations = parseOperations(root, decoder: &decoder)
        guard decoder.problems.count == problemsBefore, let api, let credentials else { return nil }
        return Configuration(
            api: api, credentials: credentials, log: log, proxy: proxy, operations: operations)
    }

    static func parseAPI(_ root: ConfigObject, decoder: inout ConfigDecoder) -> APIConfiguration? {
        guard let object = decoder.object(root, "api", keys: apiKeys) else { return nil }
        let problemsBefore = decoder.problems.count
        var api = APIConfiguration()
        if let socket = decoder.string(object, "socket") {
            api.socket = checkSocketPath(
                socket, at: object.path.appending("socket"), decoder: &decoder)
        }
        if let (value, path) = decoder.member(object, "socket_mode", required: false) {
            api.socketMode = parseSocketMode(value, at: path, decoder: &decoder) ?? api.socketMode
        }
        if let group = decoder.string(object, "socket_group") {
            api.socketGroup = checkGroupName(
                group, at: object.path.appending("socket_group"), decoder: &decoder)
        }
        api.allowedUIDs =
            decoder.integerArray(object, "allowed_uids", in: 0...Limits.Config.maxUserOrGroupID)?
            .map { UInt32($0) }
            ?? []
        api.allowedGIDs =
            decoder.integerArray(object, "allowed_gids", in: 0...Limits.Config.maxUserOrGroupID)?
            .map { UInt32($0) }
            ?? []
        if let tcp = decoder.object(object, "tcp", keys: tcpKeys) {
            api.tcp = parseTCP(tcp, decoder: &decoder)
        }
        api.eventLoops = decoder.number(
            object, "event_loops", in: 1...Double(Limits.Config.maxEventLoops), wholeNumber: true
        ).map { Int($0) }
        api.busyPollMicroseconds = decoder.number(
            object, "busy_poll_us", in: 0...Double(Limits.EventLoop.maxBusyPollMicroseconds),
            wholeNumber: true
        ).map { Int($0) }
        api.maxConnections =
            decoder.number(object, "max_connections", in: 1...65536, wholeNumber: true).map {
                Int($0)
            } ?? api.maxConnections
        return decoder.problems.count == problemsBefore ? api : nil
    }

    static func parseTCP(_ object: ConfigObject, decoder: inout ConfigDecoder)
        -> TCPListenerConfiguration?
    {
        let listen = decoder.string(object, "listen", required: true)
        let address = listen.flatMap {
            checkListenAddress($0, at: object.path.appending("listen"), decoder: &decoder)
        }
        var header = TCPListenerConfiguration.defaultRequiredHeader
        if let name = decoder.string(object, "required_header") {
            if isToken(name) {
                header = name
            } else {
                decoder.report(
                    object.path.appending("required_header"),
                    "must be an HTTP field name: letters, digits and !#$%&'*+-.^_`|~ (RFC 9110 §5.1)"
                )
            }
        }
        var value = TCPListenerConfiguration.defaultRequiredHeaderValue
        if let given = decoder.string(object, "required_header_value") {
            if isFieldValue(given) {
                value = given
            } else {
                decoder.report(
                    object.path.appending("required_header_value"),
                    "must be visible ASCII without leading or trailing spaces (RFC 9110 §5.5)")
            }
        }
        guard let address else { return nil }
        return .init(
            host: address.host, port: address.port, requiredHeader: header,
            requiredHeaderValue: value)
    }

    static func parseCredentials(_ root: ConfigObject, decoder: inout ConfigDecoder)
        -> [CredentialConfiguration]?
    {
        let path = root.path.appending("credentials")
        guard root["credentials"] != nil else {
            decoder.report(
                path,
                "required key is missing; add at least one credential (see config.sample.json)")
            return nil
        }
        guard let object = decoder.object(root, "credentials", keys: nil) else { return nil }
        guard !object.members.isEmpty else {
            decoder.report(path, "must contain at least one credential")
            return nil
        }
        var credentials: [CredentialConfiguration] = []
        var valid = true
        for member in object.members {
            if let credential = parseCredential(member, in: object, decoder: &decoder) {
                credentials.append(credential)
            } else {
                valid = false
            }
        }
        return valid ? credentials : nil
    }
}
