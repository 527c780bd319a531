internal import COpenSSL
import TokenProxyCore

/// A private signing key: RSA 2048–4096 bits, EC P-256/P-384/P-521 or Ed25519.
///
/// Its `EVPKey` backing owns the OpenSSL `EVP_PKEY` and frees it when the last copy goes; no C
/// pointer leaves this module. Immutable and `Sendable`: OpenSSL 3 keys do not change after
/// loading and every operation uses its own context, so concurrent signing is safe.
package struct PrivateKey: Sendable {
    /// Owns the `EVP_PKEY`; also lent to `TLSClientContext` for mutual TLS.
    let backing: EVPKey
    /// What kind of key this is; fixed at load time.
    package let type: KeyType

    /// Takes ownership of `pkey` after checking it is a supported kind; frees it if not.
    static func adopt(_ pkey: OpaquePointer, origin: String) throws -> PrivateKey {
        let backing = EVPKey(taking: pkey)
        return PrivateKey(backing: backing, type: try backing.classify(origin: origin))
    }

    private init(backing: EVPKey, type: KeyType) {
        self.backing = backing
        self.type = type
    }

    /// Parses a PEM private key: PKCS#1 ("BEGIN RSA PRIVATE KEY"), PKCS#8 ("BEGIN PRIVATE KEY")
    /// or SEC1 ("BEGIN EC PRIVATE KEY"). Encrypted keys are refused with the command that
    /// decrypts them; OpenSSL is never allowed to prompt for a passphrase.
    ///
    /// `origin` names where the PEM came from in error messages. The input is read in place
    /// (no copy) and not wiped: the caller owns it and wipes it.
    /// The corresponding C function is `PEM_read_bio_PrivateKey`.
    package static func fromPEM(_ pem: [UInt8], origin: String) throws -> PrivateKey {
        try pem.withUnsafeBytes { try fromPEM(buffer: $0, origin: origin) }
    }

    /// `fromPEM` over borrowed memory, so that secrets held in a `SecretBuffer` are parsed in
    /// place without an intermediate array.
    static func fromPEM(buffer pem: UnsafeRawBufferPointer, origin: String) throws -> PrivateKey {
        if PEMText.isEncrypted(pem) { throw CryptoError.encryptedKey(origin: origin) }
        guard PEMText.contains(pem, "PRIVATE KEY-----") else {
            let found =
                PEMText.contains(pem, "BEGIN PUBLIC KEY")
                    || PEMText.contains(pem, "BEGIN CERTIFICATE")
                ? "found a public key or certificate, not a private key"
                : "no '-----BEGIN … PRIVATE KEY-----' line"
            throw CryptoError.noPrivateKey(origin: origin, detail: found)
        }
        var askedForPassphrase: Int32 = 0
        // The read-only memory BIO reads the caller's bytes in place.
        let loaded = try OpenSSLBIO.withReadOnlyMemoryBIO(pem) { bio in
            withUnsafeMutablePointer(to: &askedForPassphrase) { flag in
                PEM_read_bio_PrivateKey(bio, nil, refusePassphrase, flag)
            }
        }
        guard let pkey = loaded else {
            if askedForPassphrase != 0 {
                OpenSSLErrorStack.clear()
                throw CryptoError.encryptedKey(origin: origin)
            }
            throw CryptoError.noPrivateKey(
                origin: origin, detail: OpenSSLErrorStack.drain().description)
        }
        // OpenSSL's decoders may leave notes from formats they tried before the one that worked.
        OpenSSLErrorStack.clear()
        return try adopt(pkey, origin: origin)
    }

    /// Generates a fresh key (dev mode and tests). RSA sizes outside 2048–4096 are refused.
    /// The corresponding C functions are `EVP_PKEY_keygen_init` and `EVP_PKEY_generate`.
    package static func generate(_ type: KeyType) throws -> PrivateKey {
        let algorithmName: String
        switch type {
        case .rsa(let bits):
            guard Limits.KeyFile.rsaBits.contains(bits) else {
                throw CryptoError.unsupportedRSASize(origin: "a key to generate", bits: bits)
            }
            algorithmName = "RSA"
        case .ec: algorithmName = "EC"
        case .ed25519: algorithmName = "ED25519"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithmName, nil) else {
            throw CryptoError.openSSL("create a \(type) key generator")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else {
            throw CryptoError.openSSL("start generating a \(type) key")
        }
        switch type {
        case .rsa(let bits):
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1 else {
                throw CryptoError.openSSL("set the RSA key size")
            }
        case .ec(let curve):
            guard EVP_PKEY_CTX_set_group_name(context, curve.openSSLGroupName) == 1 else {
                throw CryptoError.openSSL("select curve \(curve.rawValue)")
            }
        case .ed25519:
            break
        }
        var generated: OpaquePointer?
        guard EVP_PKEY_generate(context, &generated) == 1, let pkey = generated else {
            throw CryptoError.openSSL("generate a \(type) key")
        }
        return try adopt(pkey, origin: "a generated key")
    }

    /// The algorithm used when none is configured: RS256 for RSA (the one every server
    /// supports), the curve's ES* for EC, EdDSA for Ed25519.
    package var defaultAlgorithm: JWSAlgorithm {
        switch type {
        case .rsa: return .rs256
        case .ec(.p256): return .es256
        case .ec(.p384): return .es384
        case .ec(.p521): return .es512
        case .ed25519: return .edDSA
        }
    }

    /// RSA: RS* and PS*; EC: only the ES* of its curve (RFC 7518 §3.4); Ed25519: EdDSA.
    package func supports(_ algorithm: JWSAlgorithm) -> Bool {
        JWSAlgorithm.allowed(for: type).contains(algorithm)
    }

    /// Signs `message` (the JWS signing input) as JWS requires: RSASSA-PKCS1-v1_5, RSASSA-PSS
    /// (salt = hash length), ECDSA in JOSE `r‖s` form of 64/96/132 bytes, or pure Ed25519.
    package func sign(_ message: [UInt8], algorithm: JWSAlgorithm) throws -> [UInt8] {
        try EVPKey.requireSupport(type, algorithm)
        let raw = try backing.sign(message, algorithm: algorithm)
        if case .ec(let curve) = type {
            return try ECDSASignature.jose(fromDER: raw, curve: curve)
        }
        return raw
    }

    /// Verifies a JWS signature made with this key (dev issuer and tests). Throws only when
    /// `algorithm` does not fit the key; a bad signature is `false`.
    package func verify(signature: [UInt8], message: [UInt8], algorithm: JWSAlgorithm) throws
        -> Bool
    {
        try backing.verify(
            type: type, signature: signature, message: message, algorithm: algorithm)
    }

    /// The public half as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY").
    package func publicKeyPEM() throws -> String {
        try backing.publicKeyPEM()
    }

    /// The public JWK (RFC 7517): kty and n/e, crv/x/y or crv/x, plus `kid` when given,
    /// `use` = "sig" and `alg` = `defaultAlgorithm`.
    package func publicJWK(keyID: String?) throws -> [String: String] {
        try backing.publicJWK(type: type, keyID: keyID, algorithm: defaultAlgorithm)
    }

    /// The private key as unencrypted PKCS#8 PEM, for dev mode writing throwaway keys.
    package func privateKeyPKCS8PEM() throws -> Redacted<[UInt8]> {
        Redacted(try backing.privateKeyPKCS8PEM())
    }
}

/// A `pem_password_cb` that never supplies a passphrase, so OpenSSL cannot fall back to
/// prompting on the terminal; it records that a passphrase was wanted.
private let refusePassphrase:
    @convention(c) (
        UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
    ) -> Int32 = { _, _, _, flag in
        flag?.storeBytes(of: 1, as: Int32.self)
        return -1
    }
