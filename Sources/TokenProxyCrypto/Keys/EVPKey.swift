internal import COpenSSL
import TokenProxyCore

/// Operations on a borrowed `EVP_PKEY *` shared by `PrivateKey` and `PublicKey`. Neither takes
/// ownership; the calling class keeps the key alive for the duration of the call.
///
/// OpenSSL 3 provider keys are safe to use from several threads at once for signing and
/// verifying, as long as each operation has its own `EVP_MD_CTX` (which each call here creates).
enum EVPKey {
    /// Decides what kind of key `pkey` is and refuses kinds we do not support.
    /// The corresponding C functions are `EVP_PKEY_is_a`, `EVP_PKEY_get_bits` and
    /// `EVP_PKEY_get_utf8_string_param`.
    static func classify(_ pkey: OpaquePointer, origin: String) throws -> KeyType {
        if EVP_PKEY_is_a(pkey, "RSA") == 1 {
            let bits = Int(EVP_PKEY_get_bits(pkey))
            guard Limits.KeyFile.rsaBits.contains(bits) else {
                throw CryptoError.unsupportedRSASize(origin: origin, bits: bits)
            }
            return .rsa(bits: bits)
        }
        if EVP_PKEY_is_a(pkey, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            let rc = name.withUnsafeMutableBufferPointer {
                EVP_PKEY_get_utf8_string_param(pkey, "group", $0.baseAddress, $0.count, &length)
            }
            guard rc == 1 else {
                OpenSSLErrors.clear()
                throw CryptoError.unsupportedKeyType(
                    origin: origin, kind: "an EC key with explicit curve parameters")
            }
            let groupName = String(
                decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let curve = ECCurve(openSSLGroupName: groupName) else {
                throw CryptoError.unsupportedKeyType(
                    origin: origin, kind: "an EC key on curve \(groupName)")
            }
            return .ec(curve)
        }
        if EVP_PKEY_is_a(pkey, "ED25519") == 1 {
            return .ed25519
        }
        let kind = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
        throw CryptoError.unsupportedKeyType(origin: origin, kind: "a \(kind) key")
    }

    /// Creates a digest context for `algorithm` and applies the RSA padding JWS requires.
    /// `signing` selects `EVP_DigestSignInit_ex` or `EVP_DigestVerifyInit_ex`.
    private static func makeContext(
        _ pkey: OpaquePointer, algorithm: JWSAlgorithm, signing: Bool
    ) throws -> OpaquePointer {
        let operation = signing ? "start \(algorithm.rawValue) signing" : "start verifying"
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLErrors.error(operation) }
        var keyContext: OpaquePointer?
        let digest = algorithm.digestName
        let rc =
            signing
            ? EVP_DigestSignInit_ex(context, &keyContext, digest, nil, nil, pkey, nil)
            : EVP_DigestVerifyInit_ex(context, &keyContext, digest, nil, nil, pkey, nil)
        guard rc == 1 else {
            EVP_MD_CTX_free(context)
            throw OpenSSLErrors.error(operation)
        }
        if algorithm.isPSS {
            // RFC 7518 §3.5: MGF1 with the same hash and a salt as long as the hash; verifying
            // with SALTLEN_DIGEST also rejects other salt lengths.
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                EVP_PKEY_CTX_set_rsa_mgf1_md_name(keyContext, digest, nil) == 1,
                EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
            else {
                EVP_MD_CTX_free(context)
                throw OpenSSLErrors.error("configure RSA-PSS")
            }
        } else if algorithm.rawValue.hasPrefix("RS") {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING) == 1 else {
                EVP_MD_CTX_free(context)
                throw OpenSSLErrors.error("configure RSA PKCS#1 v1.5 padding")
            }
        }
        return context
    }

    /// Signs `message` in one shot (Ed25519 allows nothing else) and returns OpenSSL's raw
    /// output: DER for ECDSA. The corresponding C function is `EVP_DigestSign`.
    static func sign(_ pkey: OpaquePointer, message: [UInt8], algorithm: JWSAlgorithm) throws
        -> [UInt8]
    {
        let context = try makeContext(pkey, algorithm: algorithm, signing: true)
        defer { EVP_MD_CTX_free(context) }
        return try withBytes(message) { messagePointer, messageCount in
            var length = 0
            guard EVP_DigestSign(context, nil, &length, messagePointer, messageCount) == 1 else {
                throw OpenSSLErrors.error("size a \(algorithm.rawValue) signature")
            }
            var signature = [UInt8](repeating: 0, count: length)
            let rc = signature.withUnsafeMutableBufferPointer {
                EVP_DigestSign(context, $0.baseAddress, &length, messagePointer, messageCount)
            }
            guard rc == 1 else { throw OpenSSLErrors.error("sign with \(algorithm.rawValue)") }
            return Array(signature.prefix(length))
        }
    }

    /// Verifies a JWS signature (JOSE form for ECDSA). A signature that does not verify is
    /// `false`, not an error. The corresponding C function is `EVP_DigestVerify`.
    static func verify(
        _ pkey: OpaquePointer, type: KeyType, signature: [UInt8], message: [UInt8],
        algorithm: JWSAlgorithm
    ) throws -> Bool {
        try requireSupport(type, algorithm)
        var encoded = signature
        if case .ec(let curve) = type {
            guard let der = ECDSASignature.der(fromJOSE: signature, curve: curve) else {
                OpenSSLErrors.clear()
                return false
            }
            encoded = der
        }
        let context = try makeContext(pkey, algorithm: algorithm, signing: false)
        defer { EVP_MD_CTX_free(context) }
        let rc = withBytes(encoded) { signaturePointer, signatureCount in
            withBytes(message) { messagePointer, messageCount in
                EVP_DigestVerify(
                    context, signaturePointer, signatureCount, messagePointer, messageCount)
            }
        }
        if rc == 1 { return true }
        // 0 is "does not verify"; negative values are malformed input. Both are an answer.
        OpenSSLErrors.clear()
        return false
    }

    /// Throws `algorithmMismatch` unless a key of `type` can produce `algorithm`.
    static func requireSupport(_ type: KeyType, _ algorithm: JWSAlgorithm) throws {
        let allowed = JWSAlgorithm.allowed(for: type)
        guard allowed.contains(algorithm) else {
            throw CryptoError.algorithmMismatch(key: type, algorithm: algorithm, allowed: allowed)
        }
    }

    /// Calls `body` with a non-nil pointer even for an empty array (OpenSSL rejects NULL input
    /// for some providers, and an empty array's base address may be nil).
    static func withBytes<R>(
        _ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) throws -> R
    ) rethrows -> R {
        if bytes.isEmpty {
            var zero: UInt8 = 0
            return try withUnsafePointer(to: &zero) { try body($0, 0) }
        }
        return try bytes.withUnsafeBufferPointer { try body($0.baseAddress!, $0.count) }
    }
}
