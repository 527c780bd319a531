import Foundation
import TokenProxy

/// The IdP's answers at the token endpoint: a 2xx token response, and an error page (JSON,
/// HTML or text) whose text must never echo the assertion we sent.
enum TokenResponseTarget {
    /// Stands for the signed assertion we sent. Real ones are hundreds of bytes, which matters:
    /// the `error` code is kept verbatim but capped at 64 bytes (RFC 6749 §5.2 codes are short
    /// tokens), so only a text field can echo a whole assertion, and those are scrubbed.
    static let secret =
        "eyJhbGciOiJSUzI1NiJ9." + String(repeating: "c2VjcmV0LWFzc2VydGlvbg", count: 5)

    static func run(_ bytes: [UInt8]) {
        if case .success(let response) = TokenResponse.parse(bytes, receivedAt: Date()) {
            precondition(!response.accessToken.value.isEmpty, "empty access token accepted")
            _ = response.expiresAt
        }
        let rejection = TokenEndpointRejection(
            status: 400, contentType: bytes.first == 0x3C ? "text/html" : nil, body: bytes,
            secrets: [secret])
        precondition(!rejection.description.contains(secret), "assertion echoed into an error")
    }
}
