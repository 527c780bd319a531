internal import COpenSSL
import TokenProxyCore

extension EVPKey {
    /// The public JWK members of `pkey` (RFC 7518 §6.3.1 RSA, §6.2.1 EC, RFC 8037 §2 OKP).
    static func publicJWKMembers(_ pkey: OpaquePointer, type: KeyType) throws -> [String: String] {
        switch type {
        case .rsa:
            // RFC 7518 §6.3.1.1: n and e as unsigned big-endian integers without leading zeros.
            return [
                "kty": "RSA",
                "n": Base64URL.encode(try bigNumber(pkey, "n", width: nil)),
                "e": Base64URL.encode(try bigNumber(pkey, "e", width: nil)),
            ]
        case .ec(let curve):
            // RFC 7518 §6.2.1.2: x and y are padded to the full coordinate size.
            let size = curve.coordinateSize
            return [
                "kty": "EC",
                "crv": curve.rawValue,
                "x": Base64URL.encode(try bigNumber(pkey, "qx", width: size)),
                "y": Base64URL.encode(try bigNumber(pkey, "qy", width: size)),
            ]
        case .ed25519:
            var length = 0
            guard EVP_PKEY_get_raw_public_key(pkey, nil, &length) == 1 else {
                throw OpenSSLErrors.error("read the Ed25519 public key")
            }
            var raw = [UInt8](repeating: 0, count: length)
            let rc = raw.withUnsafeMutableBufferPointer {
                EVP_PKEY_get_raw_public_key(pkey, $0.baseAddress, &length)
            }
            guard rc == 1 else { throw OpenSSLErrors.error("read the Ed25519 public key") }
            return [
                "kty": "OKP", "crv": "Ed25519", "x": Base64URL.encode(Array(raw.prefix(length))),
            ]
        }
    }

    /// A public JWK with `kid` (when given), `use` = "sig" and `alg`.
    static func publicJWK(
        _ pkey: OpaquePointer, type: KeyType, keyID: String?, algorithm: JWSAlgorithm
    )
        throws -> [String: String]
    {
        var members = try publicJWKMembers(pkey, type: type)
        if let keyID { members["kid"] = keyID }
        members["use"] = "sig"
        members["alg"] = algorithm.rawValue
        return members
    }

    /// A public big-number parameter (`OSSL_PKEY_PARAM_RSA_N` is "n", `…_EC_PUB_X` is "qx"),
    /// big-endian, minimal or left-padded to `width`. The corresponding C functions are
    /// `EVP_PKEY_get_bn_param` and `BN_bn2binpad`.
    private static func bigNumber(_ pkey: OpaquePointer, _ name: String, width: Int?) throws
        -> [UInt8]
    {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &number) == 1, let number else {
            throw OpenSSLErrors.error("read public key parameter '\(name)'")
        }
        defer { BN_free(number) }
        let size = width ?? Int((BN_num_bits(number) + 7) / 8)
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBufferPointer {
            BN_bn2binpad(number, $0.baseAddress, Int32(size))
        }
        guard written == Int32(size) else {
            throw OpenSSLErrors.error("encode public key parameter '\(name)'")
        }
        return out
    }

    /// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"). The corresponding C function is
    /// `PEM_write_bio_PUBKEY`.
    static func publicKeyPEM(_ pkey: OpaquePointer) throws -> String {
        let bytes = try withMemoryBIO(secure: false) { bio in
            guard PEM_write_bio_PUBKEY(bio, pkey) == 1 else {
                throw OpenSSLErrors.error("write the public key as PEM")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"), written through a secure-heap BIO whose
    /// memory OpenSSL wipes on free. The corresponding C function is `PEM_write_bio_PrivateKey`.
    static func privateKeyPKCS8PEM(_ pkey: OpaquePointer) throws -> [UInt8] {
        try withMemoryBIO(secure: true) { bio in
            guard PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1 else {
                throw OpenSSLErrors.error("write the private key as PKCS#8 PEM")
            }
        }
    }

    /// Runs `write` against a fresh memory BIO and returns what it wrote.
    private static func withMemoryBIO(secure: Bool, _ write: (OpaquePointer) throws -> Void)
        throws -> [UInt8]
    {
        guard let bio = BIO_new(secure ? BIO_s_secmem() : BIO_s_mem()) else {
            throw OpenSSLErrors.error("allocate a memory BIO")
        }
        defer { BIO_free(bio) }
        try write(bio)
        var data: UnsafeMutablePointer<CChar>?
        let length = COpenSSL_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { throw OpenSSLErrors.error("read a memory BIO") }
        return data.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            Array(UnsafeBufferPointer(start: $0, count: Int(length)))
        }
    }
}
