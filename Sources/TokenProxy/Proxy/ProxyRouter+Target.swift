import TokenProxyCore

/// A request target taken apart for routing (RFC 9112 §3.2).
struct ProxyRequestTarget: Equatable {
    /// Lowercased, IPv6 without brackets; nil for an origin-form request without `Host`.
    var host: String?
    /// The explicit port, if the authority had one.
    var port: Int?
    /// The port an absent one stands for (80 for `http`, 443 for an `https` absolute-form).
    var defaultPort: Int
    /// Starts with `/`.
    var path: String
    /// `?…` or empty.
    var query: String

    /// Why a target cannot be routed; the text goes into a 400 body.
    enum Problem: Error, Equatable {
        case unsupportedForm
        case unsupportedScheme
        case malformedAuthority
        case dotSegments
    }

    /// Absolute-form decides by its own authority and ignores `Host` (RFC 9112 §3.2.2: a proxy
    /// MUST use the target's authority); origin-form uses `Host`.
    static func parse(_ target: String, host hostField: String?) throws(Problem)
        -> ProxyRequestTarget
    {
        var result: ProxyRequestTarget
        if target.hasPrefix("/") {
            result = ProxyRequestTarget(
                host: nil, port: nil, defaultPort: 80, path: target, query: "")
            if let hostField, !hostField.isEmpty {
                let (host, port) = try authority(Substring(hostField))
                result.host = host
                result.port = port
            }
        } else if let schemeEnd = schemeSeparator(in: target) {
            let scheme = target[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else { throw .unsupportedScheme }
            let rest = target[schemeEnd.upperBound...]
            let authorityEnd =
                rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            let (host, port) = try authority(rest[..<authorityEnd])
            let remainder = String(rest[authorityEnd...])
            result = ProxyRequestTarget(
                host: host, port: port, defaultPort: scheme == "https" ? 443 : 80,
                path: remainder.hasPrefix("/") ? remainder : "/" + remainder, query: "")
        } else {
            throw .unsupportedForm
        }
        if let hash = result.path.firstIndex(of: "#") { result.path = String(result.path[..<hash]) }
        if let question = result.path.firstIndex(of: "?") {
            result.query = String(result.path[question...])
            result.path = String(result.path[..<question])
        }
        if result.path.isEmpty { result.path = "/" }
        if hasDotSegment(result.path) { throw .dotSegments }
        return result
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`; userinfo is refused (RFC 9110 §4.2.4).
    /// Scans bytes: `contains("@")` on a `Substring` goes through Foundation's CFString search,
    /// and this runs for every proxied request.
    static func authority(_ text: Substring) throws(Problem) -> (String, Int?) {
        let utf8 = text.utf8
        guard !utf8.isEmpty, !utf8.contains(UInt8(ascii: "@")) else { throw .malformedAuthority }
        var host: Substring
        var portText: Substring?
        if utf8.first == UInt8(ascii: "[") {
            guard let close = text.firstIndex(of: "]") else { throw .malformedAuthority }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .malformedAuthority }
                portText = rest.dropFirst()
            }
        } else if let colon = utf8.firstIndex(of: UInt8(ascii: ":")) {
            let after = utf8.index(after: colon)
            // A second colon: an IPv6 literal without brackets, or garbage.
            guard !utf8[after...].contains(UInt8(ascii: ":")) else { throw .malformedAuthority }
            host = text[..<colon]
            portText = text[after...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw .malformedAuthority }
        var port: Int?
        if let portText, !portText.isEmpty {  // `host:` means the default port (RFC 3986 §3.2.3)
            let digits = portText.utf8
            guard digits.count <= 5,
                digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let number = Int(portText), (1...65535).contains(number)
            else { throw .malformedAuthority }
            port = number
        }
        let lowercase = !host.utf8.contains { ($0 >= 0x41 && $0 <= 0x5A) || $0 >= 0x80 }
        return (lowercase ? String(host) : host.lowercased(), port)
    }

    /// Where the first `://` is, scanning bytes (Foundation's `range(of:)` goes through
    /// CFString, measurably slow on the proxy's per-request path).
    static func schemeSeparator(in target: String) -> Range<String.Index>? {
        let utf8 = target.utf8
        var index = utf8.startIndex
        while let colon = utf8[index...].firstIndex(of: UInt8(ascii: ":")) {
            let after = utf8.index(after: colon)
            if utf8[after...].starts(with: "//".utf8) {
                return colon..<utf8.index(after, offsetBy: 2)
            }
            index = after
        }
        return nil
    }

    /// `.` or `..` segments, also percent-encoded (`%2e`, any case): the upstream would resolve
    /// them (RFC 3986 §5.2.4) and could leave the route's prefix or base path after we matched
    /// it. Byte by byte: this runs for every proxied request.
    static func hasDotSegment(_ path: String) -> Bool {
        for segment in path.utf8.split(
            separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        where segment.count <= 6 {
            var dots = 0
            var index = segment.startIndex
            var other = false
            while index < segment.endIndex && !other {
                let byte = segment[index]
                if byte == UInt8(ascii: ".") {
                    dots += 1
                    index = segment.index(after: index)
                } else if byte == UInt8(ascii: "%"), segment[index...].count >= 3,
                    segment[segment.index(index, offsetBy: 1)] == UInt8(ascii: "2"),
                    segment[segment.index(index, offsetBy: 2)] | 0x20 == UInt8(ascii: "e")
                {
                    dots += 1
                    index = segment.index(index, offsetBy: 3)
                } else {
                    other = true
                }
            }
            if !other && (dots == 1 || dots == 2) { return true }
        }
        return false
    }

    /// Whether `path` lies under `prefix`: a prefix ending in `/` matches what starts with it;
    /// another one matches whole segments only (`/api` matches `/api` and `/api/x`, not `/apix`).
    static func path(_ path: String, isUnder prefix: String) -> Bool {
        guard path.hasPrefix(prefix) else { return false }
        if prefix.hasSuffix("/") || path.count == prefix.count { return true }
        return path.dropFirst(prefix.count).hasPrefix("/")
    }

    /// The origin-form target to send upstream: prefix stripped if asked, the upstream's base
    /// path put before, the query kept as the client sent it.
    static func rewrite(path: String, query: String, stripping prefix: String?, basePath: String)
        -> String
    {
        var rest = path
        if let prefix {
            rest = String(path.dropFirst(prefix.count))
            if !rest.hasPrefix("/") { rest = "/" + rest }
        }
        return basePath + rest + query
    }
}
