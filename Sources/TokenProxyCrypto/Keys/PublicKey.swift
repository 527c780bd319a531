internal import COpenSSL
import TokenProxyCore

/// A public key for verification: the dev-mode issuer checks clients' assertions with it.
/// Owns an `EVP_PKEY`, freed in `deinit`; immutable and safe to share (see `PrivateKey`).
package final class PublicKey: @unchecked Sendable {
    /// The owned `EVP_PKEY *`.
    let pkey: OpaquePointer
    /// What kind of key this is; the same kinds and sizes as `PrivateKey` are accepted.
    package let type: KeyType

    private init(owning pkey: OpaquePointer, type: KeyType) {
        self.pkey = pkey
        self.type = type
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Parses SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"). The corresponding C function is
    /// `PEM_read_bio_PUBKEY`.
    package static func fromPEM(_ pem: [UInt8], origin: String) throws -> PublicKey {
        let hasBlock = pem.withUnsafeBytes { PEMText.contains($0, "BEGIN PUBLIC KEY") }
        guard hasBlock else {
            throw CryptoError.noPublicKey(
                origin: origin, detail: "no '-----BEGIN PUBLIC KEY-----' line")
        }
        let loaded: OpaquePointer? = pem.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else {
                return nil
            }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let pkey = loaded else {
            throw CryptoError.noPublicKey(origin: origin, detail: OpenSSLErrors.drain())
        }
        // OpenSSL's decoders may leave notes from formats they tried before the one that worked.
        OpenSSLErrors.clear()
        do {
            return PublicKey(owning: pkey, type: try EVPKey.classify(pkey, origin: origin))
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
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
        try EVPKey.verify(
            pkey, type: type, signature: signature, message: message, algorithm: algorithm)
    }

    /// The public JWK with `kid` (when given), `use` = "sig" and `alg` = `defaultAlgorithm`.
    package func jwk(keyID: String?) throws -> [String: String] {
        try EVPKey.publicJWK(pkey, type: type, keyID: keyID, algorithm: defaultAlgorithm)
    }

    /// SubjectPublicKeyInfo PEM, as parsed.
    package func pem() throws -> String {
        try EVPKey.publicKeyPEM(pkey)
    }
}
