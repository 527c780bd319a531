internal import COpenSSL
import TokenProxyCore

/// A public key for verification: the dev-mode issuer checks clients' assertions with it.
/// Its `EVPKey` backing owns the `EVP_PKEY`; immutable and safe to share (see `PrivateKey`).
package struct PublicKey: Sendable {
    /// Owns the `EVP_PKEY`.
    let backing: EVPKey
    /// What kind of key this is; the same kinds and sizes as `PrivateKey` are accepted.
    package let type: KeyType

    private init(backing: EVPKey, type: KeyType) {
        self.backing = backing
        self.type = type
    }

    /// Parses SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"). The corresponding C function is
    /// `PEM_read_bio_PUBKEY`.
    package static func fromPEM(_ pem: [UInt8], origin: String) throws -> PublicKey {
        let hasBlock = pem.withUnsafeBytes { PEMText.contains($0, "BEGIN PUBLIC KEY") }
        guard hasBlock else {
            throw CryptoError.noPublicKey(
                origin: origin, detail: "no '-----BEGIN PUBLIC KEY-----' line")
        }
        let loaded = try pem.withUnsafeBytes { buffer in
            try OpenSSLBIO.withReadOnlyMemoryBIO(buffer) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        }
        guard let pkey = loaded else {
            throw CryptoError.noPublicKey(
                origin: origin, detail: OpenSSLErrorStack.drain().description)
        }
        // OpenSSL's decoders may leave notes from formats they tried before the one that worked.
        OpenSSLErrorStack.clear()
        let backing = EVPKey(taking: pkey)
        return PublicKey(backing: backing, type: try backing.classify(origin: origin))
    }

    /// The algorithm a key of this kind uses by default (see `PrivateKey.defaultAlgorithm`).
    package var defaultAlgorithm: JWSAlgorithm {
        JWSAlgorithm.allowed(for: type)[0]
    }

    /// Verifies a JWS signature (ECDSA in JOSE `r‖s` form). Throws only when `algorithm` does
    /// not fit the key; a signature that does not verify is `false`.
    package func verify(signature: [UInt8], message: [UInt8], algorithm: JWSAlgorithm) throws
        -> Bool
    {
        try backing.verify(
            type: type, signature: signature, message: message, algorithm: algorithm)
    }

    /// The public JWK with `kid` (when given), `use` = "sig" and `alg` = `defaultAlgorithm`.
    package func jwk(keyID: String?) throws -> [String: String] {
        try backing.publicJWK(type: type, keyID: keyID, algorithm: defaultAlgorithm)
    }

    /// SubjectPublicKeyInfo PEM, as parsed.
    package func pem() throws -> String {
        try backing.publicKeyPEM()
    }
}
