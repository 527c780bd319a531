internal import COpenSSL
import TokenProxyCore

/// The backing of `PrivateKey` and `PublicKey`: owns one `EVP_PKEY`, frees it in `deinit`, and
/// carries every operation on it as a method, so the C pointer never travels to a helper.
///
/// OpenSSL 3 provider keys are immutable once loaded and safe to use from several threads at
/// once for signing and verifying, as long as each operation has its own `EVP_MD_CTX` (which
/// each method here creates); hence `@unchecked Sendable`.
final class EVPKey: @unchecked Sendable {
    /// The owned `EVP_PKEY *`; lent out only to OpenSSL calls inside this module.
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`.
    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { EVP_PKEY_free(pointer) }

    /// Decides what kind of key this is and refuses kinds we do not support.
    /// The corresponding C functions are `EVP_PKEY_is_a`, `EVP_PKEY_get_bits` and
    /// `EVP_PKEY_get_utf8_string_param`.
    func classify(origin: String) throws -> KeyType {
        if EVP_PKEY_is_a(pointer, "RSA") == 1 {
            let bits = Int(EVP_PKEY_get_bits(pointer))
            guard Limits.KeyFile.rsaBits.contains(bits) else {
                throw CryptoError.unsupportedRSASize(origin: origin, bits: bits)
            }
            return .rsa(bits: bits)
        }
        if EVP_PKEY_is_a(pointer, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            let rc = name.withUnsafeMutableBufferPointer {
                EVP_PKEY_get_utf8_string_param(pointer, "group", $0.baseAddress, $0.count, &length)
            }
            guard rc == 1 else {
                OpenSSLErrorStack.clear()
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
        if EVP_PKEY_is_a(pointer, "ED25519") == 1 {
            return .ed25519
        }
        let kind = EVP_PKEY_get0_type_name(pointer).map { String(cString: $0) } ?? "unknown"
        throw CryptoError.unsupportedKeyType(origin: origin, kind: "a \(kind) key")
    }

    /// Runs `body` with a digest context for `algorithm` (RSA padding as JWS requires), freed
    /// when `body` returns. `signing` selects `EVP_DigestSignInit_ex` or
    /// `EVP_DigestVerifyInit_ex`.
    private func withDigestContext<Result>(
        algorithm: JWSAlgorithm, signing: Bool, _ body: (OpaquePointer) throws -> Result
    ) throws -> Result {
        let operation = signing ? "start \(algorithm.rawValue) signing" : "start verifying"
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.openSSL(operation) }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        let digest = algorithm.digestName
        let rc =
            signing
            ? EVP_DigestSignInit_ex(context, &keyContext, digest, nil, nil, pointer, nil)
            : EVP_DigestVerifyInit_ex(context, &keyContext, digest, nil, nil, pointer, nil)
        guard rc == 1 else { throw CryptoError.openSSL(operation) }
        if algorithm.isPSS {
            // RFC 7518 §3.5: MGF1 with the same hash and a salt as long as the hash; verifying
            // with SALTLEN_DIGEST also rejects other salt lengths.
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1,
                EVP_PKEY_CTX_set_rsa_mgf1_md_name(keyContext, digest, nil) == 1,
                EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
            else {
                throw CryptoError.openSSL("configure RSA-PSS")
            }
        } else if algorithm.rawValue.hasPrefix("RS") {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PADDING) == 1 else {
                throw CryptoError.openSSL("configure RSA PKCS#1 v1.5 padding")
            }
        }
        return try body(context)
    }

    /// Signs `message` in one shot (Ed25519 allows nothing else) and returns OpenSSL's raw
    /// output: DER for ECDSA. The corresponding C function is `EVP_DigestSign`.
    func sign(_ message: [UInt8], algorithm: JWSAlgorithm) throws -> [UInt8] {
        try withDigestContext(algorithm: algorithm, signing: true) { context in
            try Self.withBytes(message) { messagePointer, messageCount in
                var length = 0
                guard EVP_DigestSign(context, nil, &length, messagePointer, messageCount) == 1
                else {
                    throw CryptoError.openSSL("size a \(algorithm.rawValue) signature")
                }
                var signature = [UInt8](repeating: 0, count: length)
                let rc = signature.withUnsafeMutableBufferPointer {
                    EVP_DigestSign(context, $0.baseAddress, &length, messagePointer, messageCount)
                }
                guard rc == 1 else { throw CryptoError.openSSL("sign with \(algorithm.rawValue)") }
                return Array(signature.prefix(length))
            }
        }
    }

    /// Verifies a JWS signature (JOSE form for ECDSA). A signature that does not verify is
    /// `false`, not an error. The corresponding C function is `EVP_DigestVerify`.
    func verify(
        type: KeyType, signature: [UInt8], message: [UInt8], algorithm: JWSAlgorithm
    ) throws -> Bool {
        try Self.requireSupport(type, algorithm)
        var encoded = signature
        if case .ec(let curve) = type {
            guard let der = ECDSASignature.der(fromJOSE: signature, curve: curve) else {
                OpenSSLErrorStack.clear()
                return false
            }
            encoded = der
        }
        let rc = try withDigestContext(algorithm: algorithm, signing: false) { context in
            Self.withBytes(encoded) { signaturePointer, signatureCount in
                Self.withBytes(message) { messagePointer, messageCount in
                    EVP_DigestVerify(
                        context, signaturePointer, signatureCount, messagePointer, messageCount)
                }
            }
        }
        if rc == 1 { return true }
        // 0 is "does not verify"; negative values are malformed input. Both are an answer.
        OpenSSLErrorStack.clear()
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
