import FoundationEssentials

/// A URL's host as `URLComponents.host` and `.percentEncodedHost` give it (IPv6 literals in
/// brackets), without calling them.
///
/// Why: with full Foundation linked, those two getters run Foundation's IDNA hook, which opens
/// ICU's UTS #46 normalizer — it maps about 3 MiB of ICU data into memory for good, even for an
/// ASCII host (measured: `icudt76_dat` was the largest resident part of the idle daemon's data,
/// loaded by the configuration check of the issuer URL). `URL.host(percentEncoded:)` parses
/// the same RFC 3986 authority without it; it drops an IPv6 literal's brackets, which are put
/// back here, so callers see what the getters returned — except for an IDNA host
/// (`xn--…`), which the getters turned into Unicode (unresolvable by getaddrinfo, not allowed
/// in a Host header) and which stays ASCII here (`URLHostTests`).
package enum URLHost {
    /// `components.host`: percent-decoded, `[…]` around an IPv6 literal; nil when the URL has no
    /// authority or `components` cannot form a URL.
    package static func decoded(_ components: URLComponents) -> String? {
        components.url?.host(percentEncoded: false).map(bracketed)
    }

    /// `components.percentEncodedHost`: as written, `[…]` around an IPv6 literal.
    package static func percentEncoded(_ components: URLComponents) -> String? {
        components.url?.host(percentEncoded: true).map(bracketed)
    }

    /// A registered name or IPv4 address never holds a colon (RFC 3986 §3.2.2); an IPv6
    /// literal (or IPvFuture) always does.
    private static func bracketed(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}
