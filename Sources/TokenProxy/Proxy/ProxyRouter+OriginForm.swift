import TokenProxyCore

/// The usual proxied request — an origin-form target (RFC 9112 §3.2.1) with an ASCII `Host` —
/// routed on the bytes of the target and of the `Host` field, without a `String` for either:
/// taking the target apart into `ProxyRequestTarget` strings, lowercasing `Host` and matching
/// routes on the strings was about half of the router's instructions per request.
///
/// It decides only what the general path (`ProxyRequestTarget.parse`, then
/// `ProxyRouterRoute.matches`) would decide the same way: anything else — an absolute-form
/// target, a `Host` that is malformed or not ASCII (Unicode lowercasing), dot segments, no
/// matching route — returns nil, and the general path gives the answer and its exact error
/// text. `ProxyRouterOriginFormTests` checks both paths against each other.
extension ProxyRouter {
    /// The matching route and the origin-form target to send it, or nil: ask the general path.
    func routeOriginForm(_ head: HTTPRequestHead) -> (ProxyRouterRoute, String)? {
        routeOriginForm(head, fields: head.fields).map { ($0.takeUnretainedValue(), $1) }
    }

    /// `routeOriginForm(_:)` with `head.fields` borrowed from the caller; the route
    /// unretained (an element of `routeReferences`, which the router's `routes` hold).
    func routeOriginForm(_ head: HTTPRequestHead, fields: borrowing HTTPFields)
        -> (Unmanaged<ProxyRouterRoute>, String)?
    {
        var target = head.target  // one reference; `withUTF8` on a native string copies nothing
        // No scan: the facts say whether there is a `Host`, the storage header where it is.
        let hostIndex = fields.firstIndex(.host)
        // The route, and the target to send when it is not the whole of `target`.
        let decided: (Unmanaged<ProxyRouterRoute>, String?)? = target.withUTF8 { bytes in
            guard bytes.first == UInt8(ascii: "/") else { return nil }
            let marks = OriginFormMarks(bytes)
            let path = UnsafeBufferPointer(rebasing: bytes[..<marks.pathEnd])
            if marks.mayHaveDotSegment && ProxyRequestTarget.hasDotSegment(path) { return nil }
            let matched =
                if let hostIndex {
                    fields.withValueBytes(at: hostIndex) { value in
                        Self.route(in: routeReferences, hostField: value, path: path)
                    }
                } else {
                    routeReferences.first { $0.matches(host: nil, port: nil, path: path) }
                }
            guard let matched else { return nil }
            // Sound: `routes` holds the route (see `routeReferences`).
            let rewritten: String? = matched._withUnsafeGuaranteedRef { route in
                if route.strippedPrefix == nil && route.basePath.isEmpty
                    && marks.queryEnd == bytes.count
                {
                    return nil
                }
                return Self.rewrite(
                    path: path,
                    query: UnsafeBufferPointer(rebasing: bytes[marks.pathEnd..<marks.queryEnd]),
                    stripping: route.strippedPrefixCount, basePath: route.basePath)
            }
            return (matched, rewritten)
        }
        guard let (route, rewritten) = decided else { return nil }
        return (route, rewritten ?? target)
    }

    /// The first route matching the host in `hostField` and `path`; nil when none does or the
    /// general path must decide (the `Host` is malformed or not ASCII).
    private static func route(
        in routes: [Unmanaged<ProxyRouterRoute>], hostField: UnsafeBufferPointer<UInt8>,
        path: UnsafeBufferPointer<UInt8>
    ) -> Unmanaged<ProxyRouterRoute>? {
        // An empty `Host` counts as none (as in `ProxyRequestTarget.parse`).
        guard !hostField.isEmpty else {
            return routes.first { $0.matches(host: nil, port: nil, path: path) }
        }
        guard let authority = ASCIIAuthority(hostField) else { return nil }
        let host = UnsafeBufferPointer(rebasing: hostField[authority.host])
        return routes.first { $0.matches(host: host, port: authority.port, path: path) }
    }

    /// `rewrite(path:query:stripping:basePath:)` on bytes: the base path, the path without
    /// its first `stripping` bytes (a matched prefix, so they end on a character boundary),
    /// a `/` if the rest lacks one, the query; one allocation.
    static func rewrite(
        path: UnsafeBufferPointer<UInt8>, query: UnsafeBufferPointer<UInt8>, stripping: Int?,
        basePath: String
    ) -> String {
        let rest = UnsafeBufferPointer(rebasing: path[(stripping ?? 0)...])
        let slash = stripping != nil && rest.first != UInt8(ascii: "/")
        let count = basePath.utf8.count + (slash ? 1 : 0) + rest.count + query.count
        return String(unsafeUninitializedCapacity: count) { output in
            var written = 0
            for byte in basePath.utf8 {
                output[written] = byte
                written += 1
            }
            if slash {
                output[written] = UInt8(ascii: "/")
                written += 1
            }
            func append(_ part: UnsafeBufferPointer<UInt8>) {
                guard !part.isEmpty else { return }
                // Sound: `count` above reserved room for every part.
                _ = UnsafeMutableBufferPointer(rebasing: output[written..<written + part.count])
                    .initialize(from: part)
                written += part.count
            }
            append(rest)
            append(query)
            return written
        }
    }
}

extension Unmanaged<ProxyRouterRoute> {
    /// The route's `matches(host:port:path:)`, without a retain (the router's `routes` hold
    /// every route it routes by).
    func matches(host: UnsafeBufferPointer<UInt8>?, port: Int?, path: UnsafeBufferPointer<UInt8>)
        -> Bool
    {
        _withUnsafeGuaranteedRef { $0.matches(host: host, port: port, path: path) }
    }

    /// The route's `matches(_:)`, without a retain.
    func matches(_ target: ProxyRequestTarget) -> Bool {
        _withUnsafeGuaranteedRef { $0.matches(target) }
    }
}

extension ProxyRouterRoute {
    /// `matches(_:)` on bytes: `host` is the request's host as sent (ASCII, any case, IPv6
    /// without brackets), nil for none; `path` ends before the query.
    func matches(host: UnsafeBufferPointer<UInt8>?, port: Int?, path: UnsafeBufferPointer<UInt8>)
        -> Bool
    {
        if let hostBytes {
            guard let host,
                hostBytes.withUnsafeBufferPointer({ HTTPFields.equalIgnoringCase(host, $0) })
            else { return false }
            if let routePort = self.port, (port ?? 80) != routePort { return false }
        }
        if let prefixBytes {
            return prefixBytes.withUnsafeBufferPointer {
                ProxyRequestTarget.path(path, isUnder: $0)
            }
        }
        return true
    }
}

/// Where an origin-form target's path and query end: the path before the first `?` or `#`,
/// the query (`?…`) before the first `#` (RFC 3986 §3.4, §3.5); and whether the path has a
/// `.` or `%`, without which it has no dot segment (most paths: no second scan).
struct OriginFormMarks {
    var pathEnd: Int
    var queryEnd: Int
    var mayHaveDotSegment = false

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        var offset = 0
        var dotOrPercent = false
        // The path: up to `?` or `#`. Letters, `/` and digits (most bytes) take one or two
        // comparisons; the four bytes looked for are all below `0x40`, none is `/` or a digit.
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte < 0x40 && byte != UInt8(ascii: "/") {
                if byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") { break }
                if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "%") { dotOrPercent = true }
            }
            offset += 1
        }
        pathEnd = offset
        mayHaveDotSegment = dotOrPercent
        // The query, from its `?`: up to `#`.
        if offset < bytes.count && bytes[offset] == UInt8(ascii: "?") {
            offset += 1
            while offset < bytes.count && bytes[offset] != UInt8(ascii: "#") { offset += 1 }
        }
        queryEnd = offset
    }
}

/// An authority (`host`, `host:port`, `[v6]`, `[v6]:port`) that `ProxyRequestTarget.authority`
/// accepts and lowercases by ASCII alone; nil for anything else (malformed, or non-ASCII
/// bytes: their lowercasing is Unicode's), which the general path then refuses or handles.
struct ASCIIAuthority {
    /// The host's bytes in the value, IPv6 without brackets.
    var host: Range<Int>
    var port: Int?

    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        // Most `Host` values are a name or an IPv4 literal with a port, eight bytes at a time
        // (`plainColon`, ~40 instructions fewer); anything else takes the byte loop.
        switch Self.plainColon(bytes) {
        case .plain(let colon): self.init(bytes, colon: colon)
        case .other: self.init(scanning: bytes)
        }
    }

    /// What `plainColon` found.
    enum Plainness: Equatable {
        /// Only `a`–`z`, `0`–`9`, `-`, `.`, `/` and at most one `:` (at this offset): bytes
        /// the byte loop lets through but for the colon, which it notes.
        case plain(colon: Int?)
        /// Anything else (brackets, upper case, a second colon, `@`, non-ASCII, …), or
        /// shorter than a word: the byte loop decides.
        case other
    }

    /// Whether `bytes` is plain (see `Plainness`), eight bytes at a time: each word is
    /// checked to hold only bytes in `-`…`:` (0x2D–0x3A) or `a`…`z` (0x61–0x7A) with
    /// carry-free additions (every byte is below 0x80 when they run), and its colons are
    /// found the same way. The last word overlaps the one before when the length is not a
    /// multiple of eight, so a colon may be seen twice: at the same offset.
    static func plainColon(_ bytes: UnsafeBufferPointer<UInt8>) -> Plainness {
        let count = bytes.count
        guard count >= 8, let base = bytes.baseAddress else { return .other }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        var colon: Int?
        var offset = 0
        while true {
            let start = min(offset, count - 8)
            // Sound: `start + 8 <= count`, inside the buffer.
            let word = UInt64(
                littleEndian: UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self))
            guard word & high == 0 else { return .other }
            // Bit 7 of a byte: at least `low` (byte + 0x80 - low), more than `top`
            // (byte + 0x7F - top); no byte carries into the next (all sums stay below 0x100).
            let punctuationOrDigit =
                (word &+ (0x80 - 0x2D) &* ones) & ~(word &+ (0x7F - 0x3A) &* ones)
            let letter = (word &+ (0x80 - 0x61) &* ones) & ~(word &+ (0x7F - 0x7A) &* ones)
            guard (punctuationOrDigit | letter) & high == high else { return .other }
            // Bit 7 where a byte is `:` (zero after the XOR; bytes are 7-bit, so the
            // addition cannot carry).
            let folded = word ^ (0x3A &* ones)
            let colons = ~((folded &+ 0x7F &* ones) | folded) & high
            if colons != 0 {
                guard colons & (colons &- 1) == 0 else { return .other }
                let at = start + colons.trailingZeroBitCount / 8
                if let colon, colon != at { return .other }
                colon = at
            }
            if start == count - 8 { return .plain(colon: colon) }
            offset += 8
        }
    }

    /// A plain authority (`plainColon`), the host before `colon`: the byte loop's result for
    /// such bytes without the loop.
    private init?(_ bytes: UnsafeBufferPointer<UInt8>, colon: Int?) {
        host = 0..<(colon ?? bytes.count)
        guard !host.isEmpty else { return nil }
        guard let port = Self.port(bytes, colon: colon) else { return nil }
        self.port = port
    }

    /// The authority as the byte loop reads it (also the reference `plainColon` is tested
    /// against).
    init?(scanning bytes: UnsafeBufferPointer<UInt8>) {
        var colon: Int?
        var close: Int?
        let bracketed = bytes.first == UInt8(ascii: "[")
        for offset in bytes.indices {
            let byte = bytes[offset]
            // Lower-case letters, digits, `-` and `.` (most of a host) need no more look.
            if byte &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "-") < 13 { continue }
            switch byte {
            case UInt8(ascii: "@"), 0x80...: return nil
            case UInt8(ascii: "]") where bracketed && close == nil: close = offset
            case UInt8(ascii: ":"):
                if bracketed {
                    // Colons inside the brackets belong to the address; one may follow them.
                    guard let close else { continue }
                    guard colon == nil, offset == close + 1 else { return nil }
                    colon = offset
                } else {
                    guard colon == nil else { return nil }  // an IPv6 literal without brackets
                    colon = offset
                }
            default:
                break
            }
        }
        if bracketed {
            guard let close else { return nil }
            // Only `:port` may follow the closing bracket.
            guard close + 1 == bytes.count || colon == close + 1 else { return nil }
            host = 1..<close
        } else {
            host = 0..<(colon ?? bytes.count)
        }
        guard !host.isEmpty else { return nil }
        guard let port = Self.port(bytes, colon: colon) else { return nil }
        self.port = port
    }

    /// The port after `colon`: `.some(nil)` for none (no colon, or `host:`, which means the
    /// default port), nil when it is not a number in 1…65535.
    private static func port(_ bytes: UnsafeBufferPointer<UInt8>, colon: Int?) -> Int?? {
        guard let colon, colon + 1 < bytes.count else { return .some(nil) }
        let digits = bytes.count - colon - 1
        guard digits <= 5 else { return nil }
        var number = 0
        for byte in bytes[(colon + 1)...] {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            number = number * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard (1...65535).contains(number) else { return nil }
        return .some(number)
    }
}
