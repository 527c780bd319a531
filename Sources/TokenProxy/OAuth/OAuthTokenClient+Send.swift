import FoundationEssentials
import TokenProxyCore
import TokenProxyNet

/// The two request shapes every IdP call uses, and one place that maps a transport failure
/// to the caller's own error type (token, discovery, introspection and JWKS requests each
/// report failures in their own words).
extension OAuthTokenClient {
    /// A form POST asking for JSON: the token request (RFC 6749 §4.1.3, RFC 7523 §2) and the
    /// introspection request (RFC 7662 §2.1) share it.
    static func formPost(_ form: [(String, String)], to endpoint: URL) -> HTTPClientRequest {
        HTTPClientRequest(
            method: "POST", url: endpoint,
            headers: [
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            ],
            body: FormEncoding.encode(form))
    }

    /// A GET of a JSON document (discovery, JWKS).
    static func jsonGet(_ url: URL) -> HTTPClientRequest {
        HTTPClientRequest(
            method: "GET", url: url, headers: ["Accept": "application/json"], body: [])
    }

    /// Sends `request`; a failure to get any answer becomes `failure(detail)`.
    func send<Failure: Error>(
        _ request: HTTPClientRequest, orThrow failure: (String) -> Failure
    ) async throws(Failure) -> HTTPClientResponse {
        do {
            return try await http.execute(request)
        } catch {
            throw failure("\(error)")
        }
    }
}
