import TokenProxyCrypto

/// JWS compact serialization and JWK sets. Input is split at the first newline: a token and a
/// JWKS document. The token is parsed, then verified against the document's keys when it has
/// any (so a seed signed by its own key reaches the signature check), else a fixed key.
enum JWSTarget {
    /// A throwaway P-256 key generated for this fuzz target; no real key.
    static let keys: [JSONWebKey] = {
        let jwks = #"""
            {"keys":[{"kty":"EC","crv":"P-256","kid":"fuzz","alg":"ES256","use":"sig",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}
            """#
        return (try? JSONWebKey.keySet(from: Array(jwks.utf8))) ?? []
    }()

    static func run(_ bytes: [UInt8]) {
        let newline = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
        let token = String(decoding: bytes[..<newline], as: UTF8.self)
        let document = Array(bytes[newline...].dropFirst())
        let set = (try? JSONWebKey.keySet(from: document)) ?? []
        if CompactJWS.looksLikeJWT(token), let parsed = try? CompactJWS.parse(token) {
            _ = try? CompactJWS.verify(parsed, keys: set.isEmpty ? keys : set)
        }
    }
}
