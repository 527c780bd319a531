/// `proxy.routes[].upgrades`: the protocols a client may switch to through a route.
extension ConfigurationParser {
    /// Protocol names that switch to HTTP/2, which is never tunnelled: after the upstream's
    /// `101` the proxy would stop seeing requests, so routing, token injection and access
    /// control would end with the first request (h2c smuggling). `h2` may not be negotiated
    /// with `Upgrade` at all (RFC 9113 §3.1); `HTTP/2.0` is the older spelling.
    static let refusedUpgrades: Set<String> = ["h2c", "h2", "http"]

    /// A list of protocol names (RFC 9110 §7.8: `protocol-name` is a `token`; the version a
    /// client adds after `/` is not part of the match), lowercased; the default when absent,
    /// `[]` to refuse every upgrade.
    static func parseUpgrades(_ object: ConfigObject, decoder: inout ConfigDecoder) -> [String] {
        guard let names = decoder.stringArray(object, "upgrades") else {
            return ProxyRoute.defaultUpgrades
        }
        let path = object.path.appending("upgrades")
        var upgrades: [String] = []
        for (index, name) in names.enumerated() {
            let at = path.appending(index: index)
            let lowercased = name.lowercased()
            if name.contains("/") {
                decoder.report(
                    at, "names a protocol without its version, like \"websocket\" (got \"\(name)\")"
                )
            } else if !isToken(name) {
                decoder.report(
                    at,
                    "must be a protocol name: letters, digits and !#$%&'*+-.^_`|~ (RFC 9110 §7.8)")
            } else if refusedUpgrades.contains(lowercased) {
                decoder.report(
                    at,
                    "\(name) switches the connection to HTTP/2, after which the proxy would no "
                        + "longer see, route or authorize the requests on it; it is never tunnelled"
                )
            } else if upgrades.contains(lowercased) {
                decoder.report(at, "lists \"\(name)\" twice; remove one")
            } else {
                upgrades.append(lowercased)
            }
        }
        return upgrades
    }
}
