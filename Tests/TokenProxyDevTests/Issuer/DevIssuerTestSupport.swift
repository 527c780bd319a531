import Foundation
import Synchronization
import Testing
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

@testable import TokenProxy
@testable import TokenProxyDev

/// THROWAWAY test keys and a fixed clock for the DevIssuer tests. Keys are generated once per
/// test process; each test builds its own `DevIssuer`, so tests share no mutable state.
enum DevIssuerTestKeys {
    static let rsa = try! PrivateKey.generate(.rsa(bits: 2048))
    static let otherRSA = try! PrivateKey.generate(.rsa(bits: 2048))
    static let p256 = try! PrivateKey.generate(.ec(.p256))
    static let p384 = try! PrivateKey.generate(.ec(.p384))
    static let ed25519 = try! PrivateKey.generate(.ed25519)
}

/// One DevIssuer with five clients, and helpers to sign assertions and send requests.
struct DevIssuerFixture {
    static let issuerURL = "http://127.0.0.1:45678"
    static let tokenEndpoint = issuerURL + "/oauth/v2/token"
    static let now = Date(timeIntervalSince1970: 1_750_000_000)
    static let nowSeconds: Int64 = 1_750_000_000

    let issuer: DevIssuer

    init(issuer: DevIssuer) { self.issuer = issuer }

    /// `rsa-user` (RSA, kid `rsa-kid`, both grants), `p256-app`, `p384-app`, `ed-app` (both
    /// grants, no kid), `cc-only` (P-256, client_credentials only). Scopes: openid, profile, read.
    init(issuerURL: String? = Self.issuerURL) throws {
        let scopes: Set<String> = ["openid", "profile", "read"]
        func client(
            _ id: String, _ key: PrivateKey, kid: String? = nil,
            grants: Set<GrantType> = Set(GrantType.allCases)
        ) throws -> DevIssuer.Client {
            DevIssuer.Client(
                clientID: id,
                publicKey: try PublicKey.fromPEM(Array(key.publicKeyPEM().utf8), origin: id),
                keyID: kid, grants: grants, scopes: scopes)
        }
        let now = Self.now
        issuer = try DevIssuer(
            issuer: issuerURL.map { URL(string: $0)! },
            clients: [
                try client("rsa-user", DevIssuerTestKeys.rsa, kid: "rsa-kid"),
                try client("p256-app", DevIssuerTestKeys.p256),
                try client("p384-app", DevIssuerTestKeys.p384),
                try client("ed-app", DevIssuerTestKeys.ed25519),
                try client("cc-only", DevIssuerTestKeys.p256, grants: [.clientCredentials]),
            ],
            now: { now })
    }

    /// The signing key of a registered client (or `rsa-user` with a key it is not registered
    /// with, for `wrongKey`).
    static func serviceKey(_ clientID: String, wrongKey: Bool = false) -> ServiceKey {
        let key: PrivateKey
        var kid: String? = nil
        switch clientID {
        case "rsa-user":
            key = wrongKey ? DevIssuerTestKeys.otherRSA : DevIssuerTestKeys.rsa
            kid = "rsa-kid"
        case "p384-app": key = DevIssuerTestKeys.p384
        case "ed-app": key = DevIssuerTestKeys.ed25519
        default: key = DevIssuerTestKeys.p256
        }
        return ServiceKey(source: .pem, keyID: kid, clientID: clientID, privateKey: key)
    }

    /// An assertion made by `AssertionSigner` as tokenproxy makes it.
    static func assertion(
        _ clientID: String, algorithm: JWSAlgorithm? = nil, audience: [String] = [issuerURL],
        lifetime: Duration = .seconds(300), at time: Date = now, wrongKey: Bool = false
    ) throws -> String {
        let signer = try AssertionSigner(
            key: serviceKey(clientID, wrongKey: wrongKey), algorithm: algorithm)
        return try signer.makeAssertion(
            audience: audience, lifetime: lifetime, skew: .seconds(10), now: time
        ).value
    }

    /// An assertion with hand-picked claims, signed by `clientID`'s key.
    static func assertion(_ clientID: String, claims: AssertionClaims) throws -> String {
        try AssertionSigner(key: serviceKey(clientID)).sign(claims).value
    }

    /// Default claims for `clientID` at the fixed time.
    static func claims(_ clientID: String, jti: String = UUID().uuidString) -> AssertionClaims {
        AssertionClaims(
            issuer: clientID, subject: clientID, audience: [issuerURL],
            issuedAt: nowSeconds - 10, expiresAt: nowSeconds + 300, jwtID: jti)
    }

    /// A compact JWS from raw header and claims JSON and signature bytes (for `none`, HS256…).
    static func rawJWS(header: String, claims: String, signature: [UInt8]) -> String {
        Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8)) + "."
            + Base64URL.encode(signature)
    }

    /// Valid claims JSON for `clientID` at the fixed time.
    static func claimsJSON(_ clientID: String) -> String {
        #"{"iss":"\#(clientID)","sub":"\#(clientID)","aud":"\#(issuerURL)","iat":\#(nowSeconds - 10),"exp":\#(nowSeconds + 300),"jti":"\#(UUID().uuidString)"}"#
    }

    /// Sends a request through `handle` and returns the response it produced.
    func send(
        _ method: String, _ target: String, headers: HTTPFields = [:], body: [UInt8] = []
    ) throws -> HTTPServerResponse {
        let head = HTTPRequestHead(method: method, target: target, fields: headers)
        let request = HTTPServerRequest(
            head: head, body: body, peer: .tcp(address: "127.0.0.1", port: 50000), listener: "tcp")
        let captured = Mutex<HTTPServerResponse?>(nil)
        issuer.handle(request) { response in captured.withLock { $0 = response } }
        return try #require(captured.withLock { $0 })
    }

    /// POSTs a form.
    func post(_ path: String, _ form: [(String, String)]) throws -> HTTPServerResponse {
        try send(
            "POST", path, headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: FormEncoding.encode(form))
    }

    /// A JWT-bearer grant request.
    func jwtBearer(_ assertion: String, scope: String? = nil) throws -> HTTPServerResponse {
        var form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion),
        ]
        if let scope { form.append(("scope", scope)) }
        return try post("/oauth/v2/token", form)
    }

    /// A client_credentials request with a client assertion.
    func clientCredentials(
        _ assertion: String, clientID: String? = nil, scope: String? = nil
    ) throws -> HTTPServerResponse {
        var form = [("grant_type", "client_credentials")]
        if let clientID { form.append(("client_id", clientID)) }
        form.append(
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
        form.append(("client_assertion", assertion))
        if let scope { form.append(("scope", scope)) }
        return try post("/oauth/v2/token", form)
    }
}

extension HTTPServerResponse {
    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }

    /// `error` and `error_description` of an error body.
    func oauthError() throws -> (code: String, description: String) {
        let object = try json()
        return (
            try #require(object["error"] as? String),
            try #require(object["error_description"] as? String)
        )
    }
}

/// A clock DevIssuer tests move by hand (named for this suite so it cannot clash with other
/// test helpers in the target).
final class DevIssuerTestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { current = Mutex(start) }
    var now: Date {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
