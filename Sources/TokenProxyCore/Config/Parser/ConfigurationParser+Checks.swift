import FoundationEssentials

/// Checks of single values that need more than a type and a range.
extension ConfigurationParser {
    static func checkSocketPath(
        _ path: String, at location: ConfigPath, decoder: inout ConfigDecoder
    )
        -> String
    {
        if !path.hasPrefix("/") {
            decoder.report(
                location, "must be an absolute path like \"\(APIConfiguration.defaultSocket)\"")
        } else if path.utf8.count > Limits.Config.maxSocketPathBytes {
            decoder.report(
                location,
                "is \(path.utf8.count) bytes long; a Unix socket path holds at most "
                    + "\(Limits.Config.maxSocketPathBytes) bytes, choose a shorter one")
        } else if path.hasSuffix("/") || path.utf8.contains(0) {
            decoder.report(location, "must name a file, not a directory, and contain no NUL byte")
        }
        return path
    }

    /// Accepts `"660"` or `"0660"`. A JSON number is refused: JSON has no octal literals, so
    /// `660` would silently mean 0o1224.
    static func parseSocketMode(
        _ value: ConfigJSON, at path: ConfigPath, decoder: inout ConfigDecoder
    ) -> UInt32? {
        let message = "must be an octal string like \"0660\""
        guard case .string(let text) = value else {
            decoder.report(
                path, "\(message) (got \(value.kindDescription); JSON has no octal numbers)")
            return nil
        }
        let digits = text.count == 4 && text.hasPrefix("0") ? String(text.dropFirst()) : text
        guard digits.count == 3, digits.allSatisfy({ ("0"..."7").contains($0) }),
            let mode = UInt32(digits, radix: 8)
        else {
            decoder.report(path, "\(message) (got \"\(text)\")")
            return nil
        }
        return mode
    }

    /// A POSIX-style group name, as `groupadd` accepts by default.
    static func checkGroupName(_ name: String, at path: ConfigPath, decoder: inout ConfigDecoder)
        -> String?
    {
        let scalars = Array(name.unicodeScalars)
        let valid =
            scalars.count <= 32 && scalars.allSatisfy { $0.isASCII }
            && (scalars.first.map { $0.properties.isAlphabetic || $0 == "_" } ?? false)
            && scalars.dropFirst().enumerated().allSatisfy { offset, scalar in
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "._-".unicodeScalars.contains(scalar)
                    || (scalar == "$" && offset == scalars.count - 2)
            }
        guard valid else {
            decoder.report(
                path, "must be a group name like \"tokenproxy\" (letters, digits, '.', '_', '-')")
            return nil
        }
        return name
    }

    /// `127.x.y.z:PORT` or `[::1]:PORT`. Names like `localhost` are refused because resolving
    /// them could yield a non-loopback address; anything but loopback is refused because TCP
    /// callers carry no credentials and the listener would hand tokens to the network.
    static func checkListenAddress(
        _ text: String, at path: ConfigPath, decoder: inout ConfigDecoder
    )
        -> (host: String, port: UInt16)?
    {
        let shape =
            "must be ADDRESS:PORT with a loopback address, like \"127.0.0.1:8181\" or \"[::1]:8181\""
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                decoder.report(path, "\(shape) (got \"\(text)\")")
                return nil
            }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            decoder.report(path, "\(shape) (got \"\(text)\")")
            return nil
        }
        guard !portText.isEmpty, portText.count <= 5, portText == "0" || !portText.hasPrefix("0"),
            portText.allSatisfy({ ("0"..."9").contains($0) }),
            let port = UInt16(portText)
        else {
            decoder.report(
                path,
                "port must be a number from 0 to 65535 without leading zeros (got \"\(portText)\")")
            return nil
        }
        if host == "::1" || isLoopbackIPv4(host) { return (String(host), port) }
        if host.lowercased() == "localhost" {
            decoder.report(
                path, "use an address, not a name: \"127.0.0.1:\(port)\" or \"[::1]:\(port)\"")
        } else {
            decoder.report(
                path,
                "\(host) is not a loopback address; the TCP listener gives tokens to anyone who can "
                    + "connect, so it only listens on 127.0.0.0/8 or [::1] (use the Unix socket and "
                    + "allowed_uids for other callers)")
        }
        return nil
    }

    /// A dotted quad in 127.0.0.0/8, without leading zeros (which `inet_aton` reads as octal).
    static func isLoopbackIPv4(_ host: Substring) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy { ("0"..."9").contains($0) }
                && (part == "0" || !part.hasPrefix("0")) && Int(part)! <= 255
        }
    }

    /// RFC 9110 §5.6.2 `token`, the syntax of a field name.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
                        || "!#$%&'*+-.^_`|~".unicodeScalars.contains($0))
            }
    }

    /// RFC 9110 §5.5 field value: visible ASCII, inner spaces and tabs, no edge whitespace.
    static func isFieldValue(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        return scalars.allSatisfy { (0x21...0x7E).contains($0.value) || $0 == " " || $0 == "\t" }
            && scalars.first.map { $0 != " " && $0 != "\t" } ?? true
            && scalars.last.map { $0 != " " && $0 != "\t" } ?? true
    }

    /// Names appear in `/v1/tokens/{name}`, so they are limited to characters needing no escape.
    static func checkCredentialName(
        _ name: String, at path: ConfigPath, decoder: inout ConfigDecoder
    ) {
        let allowed = name.unicodeScalars.allSatisfy {
            $0.isASCII
                && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
                    || "._-".unicodeScalars.contains($0))
        }
        if !allowed || name.isEmpty || name.unicodeScalars.count > 64 {
            decoder.report(
                path,
                "credential names must be 1 to 64 letters, digits, '.', '_' or '-' (they appear in URLs)"
            )
        } else if name == "." || name == ".." {
            decoder.report(path, "'\(name)' cannot be a credential name: URL paths resolve it away")
        }
    }

    /// `key_file`: an absolute path, or `credential:NAME` for a systemd credential.
    static func parseKeySource(_ text: String, at path: ConfigPath, decoder: inout ConfigDecoder)
        -> KeySource?
    {
        if text.hasPrefix(KeySource.credentialPrefix) {
            let name = String(text.dropFirst(KeySource.credentialPrefix.count))
            guard !name.isEmpty, name != ".", name != "..", !name.contains("/"),
                name.utf8.count <= 255
            else {
                decoder.report(
                    path,
                    "\"\(text)\" needs a systemd credential name without '/' after \"credential:\"")
                return nil
            }
            return .systemdCredential(name: name)
        }
        if text.hasPrefix("/") { return .file(path: text) }
        var message =
            "must be an absolute path or \"credential:NAME\" for a systemd credential (LoadCredential=)"
        if !text.contains("/") { message += "; did you mean \"credential:\(text)\"?" }
        decoder.report(path, message)
        return nil
    }

    static func checkAbsolutePath(_ text: String, at path: ConfigPath, decoder: inout ConfigDecoder)
        -> String?
    {
        guard text.hasPrefix("/") else {
            decoder.report(path, "must be an absolute path (got \"\(text)\")")
            return nil
        }
        return text
    }
}
