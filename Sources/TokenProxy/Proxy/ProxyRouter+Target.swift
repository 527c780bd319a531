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
    ///
    /// Works on UTF-8 bytes and index ranges: `Character`-based `String` searches (grapheme
    /// breaking per step) were a tenth of a proxied request's instructions.
    static func parse(_ target: String, host hostField: String?) throws(Problem)
        -> ProxyRequestTarget
    {
        let utf8 = target.utf8
        var result: ProxyRequestTarget
        // The path (with query and fragment) still to split, and whether it lacks its `/`.
        let rest: Substring
        var missingSlash = false
        if utf8.first == UInt8(ascii: "/") {
            result = ProxyRequestTarget(
                host: nil, port: nil, defaultPort: 80, path: "", query: "")
            if let hostField, !hostField.isEmpty {
                let (host, port) = try authority(Substring(hostField))
                result.host = host
                result.port = port
            }
            rest = target[...]
        } else if let schemeEnd = schemeSeparator(in: target) {
            let scheme = target.utf8[..<schemeEnd.lowerBound]
            let https = asciiCaseInsensitiveEqual(scheme, "https")
            guard https || asciiCaseInsensitiveEqual(scheme, "http") else {
                throw .unsupportedScheme
            }
            let afterScheme = target[schemeEnd.upperBound...]
            let authorityEnd =
                afterScheme.utf8.firstIndex {
                    $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#")
                } ?? afterScheme.endIndex
            let (host, port) = try authority(afterScheme[..<authorityEnd])
            result = ProxyRequestTarget(
                host: host, port: port, defaultPort: https ? 443 : 80, path: "", query: "")
            rest = afterScheme[authorityEnd...]
            missingSlash = rest.utf8.first != UInt8(ascii: "/")
        } else {
            throw .unsupportedForm
        }
        // One byte scan for the fragment and the query (generic `firstIndex` walks cost
        // ~20 instructions a byte).
        let marks = queryAndFragment(in: rest)
        let restUTF8 = rest.utf8
        let withoutFragment = rest[
            ..<(marks.fragment.map { restUTF8.index(restUTF8.startIndex, offsetBy: $0) }
                ?? rest.endIndex)]
        let question = marks.query.map { restUTF8.index(restUTF8.startIndex, offsetBy: $0) }
        let path = withoutFragment[..<(question ?? withoutFragment.endIndex)]
        if let question { result.query = String(withoutFragment[question...]) }
        if missingSlash {
            result.path = "/" + path
        } else if path.isEmpty {
            result.path = "/"
        } else {
            // The whole target (the usual origin-form without a query) shares its storage.
            result.path =
                path.endIndex == target.endIndex && path.startIndex == target.startIndex
                ? target : String(path)
        }
        if hasDotSegment(result.path) { throw .dotSegments }
        return result
    }

    /// Whether `bytes` spell `lowercase` in any ASCII case.
    static func asciiCaseInsensitiveEqual(_ bytes: Substring.UTF8View, _ lowercase: String) -> Bool
    {
        bytes.elementsEqual(lowercase.utf8) { ($0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0) == $1 }
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`; userinfo is refused (RFC 9110 §4.2.4).
    /// Scans bytes: `contains("@")` on a `Substring` goes through Foundation's CFString search,
    /// and this runs for every proxied request.
    static func authority(_ text: Substring) throws(Problem) -> (String, Int?) {
        let scan = AuthorityScan(text)
        guard !text.isEmpty, !scan.hasAt else { throw .malformedAuthority }
        let utf8 = text.utf8
        var host: Substring
        var portText: Substring?
        var lowercase: Bool
        if utf8.first == UInt8(ascii: "[") {
            guard let close = utf8.firstIndex(of: UInt8(ascii: "]")) else {
                throw .malformedAuthority
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .malformedAuthority }
                portText = rest.dropFirst()
            }
            lowercase = !host.utf8.contains { ($0 >= 0x41 && $0 <= 0x5A) || $0 >= 0x80 }
        } else if let offset = scan.firstColon {
            // A second colon: an IPv6 literal without brackets, or garbage.
            guard !scan.secondColon else { throw .malformedAuthority }
            let colon = utf8.index(utf8.startIndex, offsetBy: offset)
            host = text[..<colon]
            portText = text[utf8.index(after: colon)...]
            lowercase = scan.firstUpperOrNonASCII.map { $0 > offset } ?? true
        } else {
            host = text
            lowercase = scan.firstUpperOrNonASCII == nil
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
        return (lowercase ? String(host) : host.lowercased(), port)
    }

    /// The byte offsets in `text` of the first `?` before any `#`, and of the first `#`.
    static func queryAndFragment(in text: Substring) -> (query: Int?, fragment: Int?) {
        func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> (query: Int?, fragment: Int?) {
            var query: Int?
            for (offset, byte) in bytes.enumerated() {
                if byte == UInt8(ascii: "#") { return (query, offset) }
                if byte == UInt8(ascii: "?") && query == nil { query = offset }
            }
            return (query, nil)
        }
        return text.utf8.withContiguousStorageIfAvailable(scan)
            ?? Array(text.utf8).withUnsafeBufferPointer(scan)
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
    /// it. One pass over the bytes, no allocation: this runs for every proxied request.
    static func hasDotSegment(_ path: String) -> Bool {
        // Over the contiguous bytes (the `UTF8View` iterator costs more per byte).
        var path = path
        return path.withUTF8 { hasDotSegment($0) }
    }

    /// `hasDotSegment(_:)` on a path's bytes.
    static func hasDotSegment(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var dots = 0
        var other = false
        var percent = 0  // bytes of a `%2e` seen so far
        for byte in bytes {
            if byte == UInt8(ascii: "/") {
                if !other && percent == 0 && (dots == 1 || dots == 2) { return true }
                dots = 0
                other = false
                percent = 0
                continue
            }
            if other { continue }
            switch (percent, byte) {
            case (0, UInt8(ascii: ".")): dots += 1
            case (0, UInt8(ascii: "%")): percent = 1
            case (1, UInt8(ascii: "2")): percent = 2
            case (2, let letter) where letter | 0x20 == UInt8(ascii: "e"):
                percent = 0
                dots += 1
            default: other = true
            }
            if dots > 2 { other = true }
        }
        return !other && percent == 0 && (dots == 1 || dots == 2)
    }

    /// Whether `path` lies under `prefix`: a prefix ending in `/` matches what starts with it;
    /// another one matches whole segments only (`/api` matches `/api` and `/api/x`, not `/apix`).
    /// Compares bytes (`String.hasPrefix` compares canonical equivalence, grapheme by grapheme).
    static func path(_ path: String, isUnder prefix: String) -> Bool {
        // On the contiguous bytes: `UTF8View.starts(with:)` walked both views' indices byte by
        // byte (~425 instructions of a proxied request).
        var path = path
        var prefix = prefix
        return path.withUTF8 { bytes in prefix.withUTF8 { Self.path(bytes, isUnder: $0) } }
    }

    /// `path(_:isUnder:)` on bytes.
    static func path(_ bytes: UnsafeBufferPointer<UInt8>, isUnder start: UnsafeBufferPointer<UInt8>)
        -> Bool
    {
        guard bytes.count >= start.count else { return false }
        for index in 0..<start.count where bytes[index] != start[index] { return false }
        if start.last == UInt8(ascii: "/") || bytes.count == start.count { return true }
        return bytes[start.count] == UInt8(ascii: "/")
    }

    /// The origin-form target to send upstream: prefix stripped if asked, the upstream's base
    /// path put before, the query kept as the client sent it.
    static func rewrite(path: String, query: String, stripping prefix: String?, basePath: String)
        -> String
    {
        guard let prefix else {
            return basePath.isEmpty && query.isEmpty ? path : basePath + path + query
        }
        let rest = path.utf8.dropFirst(prefix.utf8.count)
        var target = basePath
        target.reserveCapacity(basePath.utf8.count + rest.count + 1 + query.utf8.count)
        if rest.first != UInt8(ascii: "/") { target.append("/") }
        target.append(contentsOf: Substring(rest))
        target.append(query)
        return target
    }
}

/// One pass over an authority's bytes for what `ProxyRequestTarget.authority` decides on (the
/// generic `UTF8View` searches it replaced cost ~20 instructions a byte, three passes per
/// request): an `@` anywhere, the first colon's offset and whether a second follows, and the
/// first byte that needs lowercasing (upper-case ASCII or non-ASCII).
private struct AuthorityScan {
    var hasAt = false
    var firstColon: Int?
    var secondColon = false
    var firstUpperOrNonASCII: Int?

    init(_ text: Substring) {
        let scanned: Void? = text.utf8.withContiguousStorageIfAvailable { scan($0) }
        if scanned == nil { Array(text.utf8).withUnsafeBufferPointer { scan($0) } }
    }

    private mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>) {
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "@"):
                hasAt = true
            case UInt8(ascii: ":"):
                if firstColon == nil { firstColon = offset } else { secondColon = true }
            case 0x41...0x5A, 0x80...:
                if firstUpperOrNonASCII == nil { firstUpperOrNonASCII = offset }
            default:
                break
            }
        }
    }
}
