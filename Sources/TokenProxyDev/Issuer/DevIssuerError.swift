import FoundationEssentials
import TokenProxy
import TokenProxyCore

/// Mistakes in setting up a `DevIssuer`; each is a programming or wiring error, reported with
/// what to change.
package enum DevIssuerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The issuer URL is not an absolute http(s) URL without query or fragment.
    case invalidIssuer(String, problem: String)
    /// `setIssuer` was called although the issuer is already known.
    case issuerAlreadySet(current: String)
    /// Two registrations share a client id.
    case duplicateClient(String)
    /// The token lifetime is not between 1 s and 1 day.
    case invalidTokenLifetime(seconds: Int64)

    package var description: String {
        switch self {
        case .invalidIssuer(let url, let problem):
            return "dev issuer URL \(url) \(problem): use http://127.0.0.1:PORT"
        case .issuerAlreadySet(let current):
            return "the dev issuer URL is already \(current); it can be set only once"
        case .duplicateClient(let clientID):
            return
                "client '\(clientID)' is registered twice with the dev issuer; give each a unique id"
        case .invalidTokenLifetime(let seconds):
            return "dev token lifetime \(seconds) s is outside 1…86400 s"
        }
    }

    /// The issuer as compared with `aud` and put in the discovery document: the URL without a
    /// trailing slash (the same normalisation `Credential.issuerString` applies).
    static func normalizedIssuer(_ url: URL) throws(DevIssuerError) -> String {
        let text = url.absoluteString
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw .invalidIssuer(text, problem: "is not an http or https URL")
        }
        guard let host = url.host, !host.isEmpty else {
            throw .invalidIssuer(text, problem: "has no host")
        }
        guard url.query == nil, url.fragment == nil else {
            throw .invalidIssuer(text, problem: "has a query or fragment")
        }
        var issuer = text
        while issuer.hasSuffix("/") { issuer.removeLast() }
        return issuer
    }
}
