import Synchronization
import TokenProxyCore
import TokenProxyNet

/// What the daemon holds per credential: the token, what the IdP said about it, and the parts
/// of every answer that never change for this token, serialized once when it arrives so that
/// the token API and the proxy copy bytes instead of building them per request. Everything
/// that contains the token travels `Redacted`.
package struct IssuedToken: Sendable {
    /// The access token (RFC 6749 §5.1).
    package let accessToken: Redacted<String>
    /// The IdP's `token_type`, as sent.
    package let tokenType: String
    /// The IdP's `scope`, if it sent one.
    package let scope: String?
    /// `Bearer <token>`, the proxy's `Authorization` value (RFC 6750 §2.1).
    package let authorization: Redacted<String>
    /// The token API's `text/plain` body: the bare token.
    package let plainBody: Redacted<[UInt8]>
    /// The token API's JSON body up to `expires_in`'s value, which counts down and is filled in
    /// per answer (see ``jsonBody(expiresIn:expiresAt:)``).
    private let jsonHead: Redacted<[UInt8]>
    /// Names this token without revealing it, for the proxy's 401 handling
    /// (`ProxyRouter.generation(of:)`): a serial number per process, so every fetch (even one
    /// that returns the same token text) is a new generation.
    package let generation: String
    /// The whole `text/plain` answer, head pre-encoded: it never changes for this token.
    let textResponse: Redacted<HTTPServerResponse>
    /// The JSON answer of the current second (see ``jsonResponse(expiresIn:expiresAt:)``).
    private let jsonResponses = JSONResponseCache()

    package init(accessToken: Redacted<String>, tokenType: String, scope: String?) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.scope = scope
        authorization = Redacted("Bearer " + accessToken.value)
        generation = String(Self.serials.add(1, ordering: .relaxed).newValue, radix: 16)
        plainBody = Redacted(Array(accessToken.value.utf8))
        let head =
            "{\"access_token\":" + JSONText.string(accessToken.value) + ",\"token_type\":"
            + JSONText.string(tokenType) + ",\"expires_in\":"
        jsonHead = Redacted(Array(head.utf8))
        textResponse = Redacted(
            HTTPServerResponse(
                status: 200, headers: Self.textHeaders, body: plainBody.value
            ).preEncoded())
    }

    /// The last `generation` handed out.
    private static let serials = Atomic<UInt64>(0)

    /// The headers of every token answer (RFC 9111 §5.2.2.5: a token must not be cached).
    static let jsonHeaders: HTTPFields = [
        "Cache-Control": "no-store", "Content-Type": "application/json",
    ]
    static let textHeaders: HTTPFields = [
        "Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8",
    ]

    /// The token API's JSON answer with `expires_in` = `expiresIn`, head pre-encoded.
    ///
    /// `expires_in` changes once a second, so the answer is built at most once a second and
    /// shared by every request in between, on any loop: a request costs a lock and a copy of
    /// two array references, not a body and a head.
    package func jsonResponse(expiresIn: Int64, expiresAt: Int64) -> HTTPServerResponse {
        if let cached = jsonResponses.response(expiresIn: expiresIn) { return cached }
        let response = HTTPServerResponse(
            status: 200, headers: Self.jsonHeaders,
            body: jsonBody(expiresIn: expiresIn, expiresAt: expiresAt)
        ).preEncoded()
        jsonResponses.store(response, expiresIn: expiresIn)
        return response
    }

    /// The token API's JSON body, in the shape of a cloud metadata token endpoint:
    /// `{"access_token","token_type","expires_in","expires_at"}` (`expires_at` in Unix seconds).
    package func jsonBody(expiresIn: Int64, expiresAt: Int64) -> [UInt8] {
        let tail = String(expiresIn) + ",\"expires_at\":" + String(expiresAt) + "}"
        var body = jsonHead.value
        body.reserveCapacity(body.count + tail.utf8.count)
        body.append(contentsOf: tail.utf8)
        return body
    }
}

/// One serialized JSON answer per `IssuedToken`, for the second it was built in. A class
/// because the token is a value copied into every snapshot, and all copies should share it.
private final class JSONResponseCache: Sendable {
    private struct Entry {
        var expiresIn: Int64
        var response: HTTPServerResponse
    }

    private let entry = Mutex<Entry?>(nil)

    func response(expiresIn: Int64) -> HTTPServerResponse? {
        entry.withLock { entry in
            guard let entry, entry.expiresIn == expiresIn else { return nil }
            return entry.response
        }
    }

    func store(_ response: HTTPServerResponse, expiresIn: Int64) {
        entry.withLock { $0 = Entry(expiresIn: expiresIn, response: response) }
    }
}
