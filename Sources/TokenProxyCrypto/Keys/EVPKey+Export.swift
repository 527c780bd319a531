internal import COpenSSL
import TokenProxyCore

extension EVPKey {
    /// The public JWK members of this key (RFC 7518 §6.3.1 RSA, §6.2.1 EC, RFC 8037 §2 OKP).
    func publicJWKMembers(type: KeyType) throws -> [String: String] {
        switch type {
        case .rsa:
            // RFC 7518 §6.3.1.1: n and e as unsigned big-endian integers without leading zeros.
            return [
                "kty": "RSA",
                "n": Base64URL.encode(try bigNumber("n", width: nil)),
                "e": Base64URL.encode(try bigNumber("e", width: nil)),
            ]
        case .ec(let curve):
            // RFC 7518 §6.2.1.2: x and y are padded to the full coordinate size.
            let size = curve.coordinateSize
            return [
                "kty": "EC",
                "crv": curve.rawValue,
                "x": Base64URL.encode(try bigNumber("qx", width: size)),
                "y": Base64URL.encode(try bigNumber("qy", width: size)),
            ]
        case .ed25519:
            var length = 0
            guard EVP_PKEY_get_raw_public_key(pointer, nil, &length) == 1 else {
                throw CryptoError.openSSL("read the Ed25519 public key")
            }
            var raw = [UInt8](repeating: 0, count: length)
            let rc = raw.withUnsafeMutableBufferPointer {
                EVP_PKEY_get_raw_public_key(pointer, $0.baseAddress, &length)
            }
            guard rc == 1 else { throw CryptoError.openSSL("read the Ed25519 public key") }
            return [
                "kty": "OKP", "crv": "Ed25519", "x": Base64URL.encode(Array(raw.prefix(length))),
            ]
        }
    }

    /// A public JWK with `kid` (when given), `use` = "sig" and `alg`.
    func publicJWK(type: KeyType, keyID: String?, algorithm: JWSAlgorithm) throws
        -> [String: String]
    {
        var members = try publicJWKMembers(type: type)
        if let keyID { members["kid"] = keyID }
        members["use"] = "sig"
        members["alg"] = algorithm.rawValue
        return members
    }

    /// A public big-number parameter (`OSSL_PKEY_PARAM_RSA_N` is "n", `…_EC_PUB_X` is "qx"),
    /// big-endian, minimal or left-padded to `width`. The corresponding C functions are
    /// `EVP_PKEY_get_bn_param` and `BN_bn2binpad`.
    private func bigNumber(_ name: String, width: Int?) throws
        -> [UInt8]
    {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pointer, name, &number) == 1, let number else {
            throw CryptoError.openSSL("read public key parameter '\(name)'")
        }
        defer { BN_free(number) }
        let size = width ?? Int((BN_num_bits(number) + 7) / 8)
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBufferPointer {
            BN_bn2binpad(number, $0.baseAddress, Int32(size))
        }
        guard written == Int32(size) else {
            throw CryptoError.openSSL("encode public key parameter '\(name)'")
        }
        return out
    }

    /// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"). The corresponding C function is
    /// `PEM_write_bio_PUBKEY`.
    func publicKeyPEM() throws -> String {
        let bytes = try OpenSSLBIO.withWritableMemoryBIO(secure: false) { bio in
            guard PEM_write_bio_PUBKEY(bio, pointer) == 1 else {
                throw CryptoError.openSSL("write the public key as PEM")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"), written through a secure-heap BIO whose
    /// memory OpenSSL wipes on free. The corresponding C function is `PEM_write_bio_PrivateKey`.
    func privateKeyPKCS8PEM() throws -> [UInt8] {
        try OpenSSLBIO.withWritableMemoryBIO(secure: true) { bio in
            guard PEM_write_bio_PrivateKey(bio, pointer, nil, nil, 0, nil, nil) == 1 else {
                throw CryptoError.openSSL("write the private key as PKCS#8 PEM")
            }
        }
    }
}
