import FoundationEssentials

/// Which forward proxy to use for which URL, with the environment conventions curl follows, so
/// that a host configured for `curl` behaves the same with tokenproxy.
///
/// Only `http://` proxies are supported: plain requests go to them in absolute-form and
/// `https://` URLs through a `CONNECT` tunnel (TLS to the origin, end to end).
package struct ProxySettings: Sendable, Equatable {
    /// Proxy for `http://` URLs.
    package var httpProxy: URL?
    /// Proxy for `https://` URLs.
    package var httpsProxy: URL?
    /// Hosts reached directly, normalized: lowercase, no leading dot, no brackets. `"*"` alone
    /// means every host.
    package private(set) var noProxy: [String]

    /// The port curl assumes for a proxy URL without one.
    package static let defaultProxyPort = 1080

    /// No proxy at all.
    package static let none = ProxySettings()

    package init(httpProxy: URL? = nil, httpsProxy: URL? = nil, noProxy: [String] = []) {
        self.httpProxy = httpProxy
        self.httpsProxy = httpsProxy
        self.noProxy = noProxy.compactMap(Self.normalizeNoProxyEntry)
    }

    /// Reads `https_proxy`, `http_proxy`, `all_proxy` (fallback for both) and `no_proxy`, each
    /// also in upper case; as with curl the lowercase variable wins when both are set. Values
    /// without a scheme (`proxy:3128`) mean `http://`. Empty values count as unset.
    package static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ProxySettings {
        func variable(_ name: String) -> String? {
            for key in [name.lowercased(), name.uppercased()] {
                if let value = environment[key]?.trimmingSpaces(),
                    !value.isEmpty
                {
                    return value
                }
            }
            return nil
        }
        let all = variable("all_proxy").flatMap(proxyURL)
        let noProxy = variable("no_proxy").map(parseNoProxy) ?? []
        return ProxySettings(
            httpProxy: variable("http_proxy").flatMap(proxyURL) ?? all,
            httpsProxy: variable("https_proxy").flatMap(proxyURL) ?? all,
            noProxy: noProxy)
    }

    /// Splits a `NO_PROXY` value on commas and whitespace.
    package static func parseNoProxy(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// The proxy to use for `url`, or nil to connect directly.
    package func proxy(for url: URL) -> URL? {
        let proxy: URL?
        switch url.scheme?.lowercased() {
        case "http": proxy = httpProxy
        case "https": proxy = httpsProxy
        default: return nil
        }
        guard let proxy, let host = url.host(percentEncoded: false) else { return nil }
        return bypasses(host: host) ? nil : proxy
    }

    /// Whether `host` matches `noProxy` (curl semantics): `*` matches everything; a name
    /// matches itself and its subdomains (`example.org` and `.example.org` both match
    /// `example.org` and `a.example.org`, not `badexample.org`); IP addresses match exactly or
    /// by CIDR prefix (`10.0.0.0/8`, IPv4 only).
    package func bypasses(host: String) -> Bool {
        guard let host = Self.normalizeNoProxyEntry(host) else { return false }
        for entry in noProxy {
            if entry == "*" || entry == host { return true }
            if entry.contains("/") {
                if Self.ipv4(host, isIn: entry) { return true }
            } else if host.hasSuffix("." + entry) && Self.ipv4Bytes(host) == nil {
                return true
            }
        }
        return false
    }

    private static func proxyURL(_ value: String) -> URL? {
        URL(string: value.contains("://") ? value : "http://" + value)
    }

    private static func normalizeNoProxyEntry(_ entry: String) -> String? {
        var value = Substring(entry.trimmingSpaces().lowercased())
        if value.hasPrefix("[") { value = value.dropFirst() }
        if let close = value.firstIndex(of: "]") { value = value[..<close] }
        while value.hasPrefix(".") { value = value.dropFirst() }
        while value.hasSuffix(".") { value = value.dropLast() }
        return value.isEmpty ? nil : String(value)
    }

    private static func ipv4(_ host: String, isIn cidr: String) -> Bool {
        let parts = cidr.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let bits = Int(parts[1]), (0...32).contains(bits),
            let network = ipv4Bytes(String(parts[0])), let address = ipv4Bytes(host)
        else { return false }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        return network & mask == address & mask
    }

    private static func ipv4Bytes(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy(\.isASCII),
                let number = UInt32(octet), number <= 255
            else { return nil }
            value = value << 8 | number
        }
        return value
    }
}
