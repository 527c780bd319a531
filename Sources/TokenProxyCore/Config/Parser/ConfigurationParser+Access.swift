/// `credentials.NAME.allow` and the `operations` section.
extension ConfigurationParser {
    static let allowKeys = ["users", "groups", "uids", "gids", "units"]
    static let operationsKeys = ["listen"]

    /// `allow`: at least one entry, each name well formed. Whether the names exist is the
    /// daemon's question (it resolves them when it loads the file).
    static func parseAllow(_ parent: ConfigObject, decoder: inout ConfigDecoder)
        -> AllowConfiguration?
    {
        guard let object = decoder.object(parent, "allow", keys: allowKeys) else { return nil }
        let ids = 0...Limits.Config.maxUserOrGroupID
        var allow = AllowConfiguration()
        allow.users = decoder.stringArray(object, "users") ?? []
        allow.groups = decoder.stringArray(object, "groups") ?? []
        allow.uids = decoder.integerArray(object, "uids", in: ids)?.map { UInt32($0) } ?? []
        allow.gids = decoder.integerArray(object, "gids", in: ids)?.map { UInt32($0) } ?? []
        allow.units = decoder.stringArray(object, "units") ?? []
        for (key, names) in [("users", allow.users), ("groups", allow.groups)] {
            for (index, name) in names.enumerated() {
                _ = checkGroupName(
                    name, at: object.path.appending(key).appending(index: index),
                    decoder: &decoder)
            }
        }
        for (index, unit) in allow.units.enumerated() where !isUnitName(unit) {
            decoder.report(
                object.path.appending("units").appending(index: index),
                "must be a systemd unit name like \"billing.service\" (got \"\(unit)\"); "
                    + "\"systemctl status PID\" shows a process's unit")
        }
        if allow == AllowConfiguration() {
            decoder.report(
                object.path,
                "lists nobody, which would refuse every caller; add users, groups, uids, gids "
                    + "or units, or remove \"allow\" to let the socket's permissions decide")
        }
        return allow
    }

    /// `operations.listen`: a numeric address (IPv4, or IPv6 in brackets) and a port.
    static func parseOperations(_ root: ConfigObject, decoder: inout ConfigDecoder)
        -> OperationsConfiguration?
    {
        guard let object = decoder.object(root, "operations", keys: operationsKeys) else {
            return nil
        }
        guard let listen = decoder.string(object, "listen", required: true) else { return nil }
        let path = object.path.appending("listen")
        let shape =
            "must be ADDRESS:PORT with a numeric address, like \"127.0.0.1:9464\", "
            + "\"0.0.0.0:9464\" or \"[::1]:9464\" (got \"\(listen)\")"
        let host: Substring
        let port: Substring
        if listen.hasPrefix("["), let close = listen.firstIndex(of: "]"),
            listen[listen.index(after: close)...].hasPrefix(":")
        {
            host = listen[listen.index(after: listen.startIndex)..<close]
            port = listen[listen.index(close, offsetBy: 2)...]
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" }) else {
                decoder.report(path, shape)
                return nil
            }
        } else if let colon = listen.lastIndex(of: ":"), !listen[..<colon].contains(":") {
            host = listen[..<colon]
            port = listen[listen.index(after: colon)...]
            guard isIPv4(host) else {
                decoder.report(path, shape)
                return nil
            }
        } else {
            decoder.report(path, shape)
            return nil
        }
        guard port.allSatisfy({ ("0"..."9").contains($0) }), let number = UInt16(port) else {
            decoder.report(path, "port must be a number from 0 to 65535 (got \"\(port)\")")
            return nil
        }
        return OperationsConfiguration(host: String(host), port: number)
    }

    /// A dotted quad without leading zeros (which `inet_aton` reads as octal).
    static func isIPv4(_ host: Substring) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy { ("0"..."9").contains($0) }
                    && (part == "0" || !part.hasPrefix("0")) && Int(part)! <= 255
            }
    }

    /// `NAME.TYPE` with a unit type a process can run in, in systemd's unit-name characters.
    static func isUnitName(_ text: String) -> Bool {
        let types = [".service", ".scope", ".socket", ".mount", ".swap"]
        guard text.utf8.count <= 255, types.contains(where: { text.hasSuffix($0) }) else {
            return false
        }
        return text.unicodeScalars.allSatisfy {
            $0.isASCII
                && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
                    || ":-_.\\@".unicodeScalars.contains($0))
        } && !types.contains(text)
    }
}
