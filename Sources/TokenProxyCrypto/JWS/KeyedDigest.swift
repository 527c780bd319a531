internal import COpenSSL

/// HMAC-SHA-256 (RFC 2104) under a key drawn from the CSPRNG when the value is made: the name
/// under which a cache may remember a bearer token without holding the token. Without the key
/// (it never leaves the process and is not written anywhere) a digest in a memory dump cannot
/// be tested against guessed tokens, which a plain hash would allow.
///
/// The keyed HMAC context is set up once (`EVP_MAC_fetch` + `EVP_MAC_init` take provider
/// lookups and locks); each digest works on a copy of it, so concurrent digests share nothing
/// mutable.
package struct KeyedDigest: Sendable {
    private let backing: Backing

    /// A digest under a fresh random key of `keyBytes` bytes.
    package init(keyBytes: Int = 32) {
        backing = Backing(key: SecureRandom.bytes(keyBytes))
    }

    /// A digest under a known key: for the RFC 4231 vectors in the tests only.
    init(key: [UInt8]) {
        backing = Backing(key: key)
    }

    /// The 32-byte HMAC-SHA-256 of `parts`, each preceded by its length so that
    /// ("ab", "c") and ("a", "bc") differ.
    package func digest(_ parts: [String]) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(parts.reduce(0) { $0 + $1.utf8.count + 8 })
        for part in parts {
            withUnsafeBytes(of: UInt64(part.utf8.count).bigEndian) {
                message.append(contentsOf: $0)
            }
            message.append(contentsOf: part.utf8)
        }
        return mac(message)
    }

    /// HMAC-SHA-256 of `message`. The corresponding C functions are `EVP_MAC_CTX_dup`,
    /// `EVP_MAC_update` and `EVP_MAC_final`.
    func mac(_ message: [UInt8]) -> [UInt8] {
        guard let context = EVP_MAC_CTX_dup(backing.context) else {
            fatalError("HMAC-SHA-256 failed: \(OpenSSLErrorStack.drain())")
        }
        defer { EVP_MAC_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        let ok = message.withUnsafeBufferPointer { data in
            out.withUnsafeMutableBufferPointer { output in
                EVP_MAC_update(context, data.baseAddress, data.count) == 1
                    && EVP_MAC_final(context, output.baseAddress, &length, output.count) == 1
            }
        }
        // HMAC-SHA-256 with a valid key cannot fail short of a broken library; a constant
        // name instead would merge every token into one cache entry, so stop instead.
        guard ok, length == 32 else {
            fatalError("HMAC-SHA-256 failed: \(OpenSSLErrorStack.drain())")
        }
        return out
    }

    /// Owns the keyed `EVP_MAC_CTX`; only ever read (copied) after `init`, hence
    /// `@unchecked Sendable`.
    private final class Backing: @unchecked Sendable {
        let context: OpaquePointer

        init(key: [UInt8]) {
            guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else {
                fatalError("HMAC is not available: \(OpenSSLErrorStack.drain())")
            }
            defer { EVP_MAC_free(mac) }
            guard let context = EVP_MAC_CTX_new(mac) else {
                fatalError("HMAC context: \(OpenSSLErrorStack.drain())")
            }
            // An OSSL_PARAM keeps both pointers, and EVP_MAC_init reads them: both C strings
            // must outlive it. A string literal passed straight to the construct call becomes a
            // temporary that is freed when that call returns (AddressSanitizer: use after free).
            let parameterName = Array("digest".utf8CString)
            var digestName = Array("SHA256".utf8CString)
            let ok = parameterName.withUnsafeBufferPointer { parameter in
                digestName.withUnsafeMutableBufferPointer { name in
                    var parameters = [
                        OSSL_PARAM_construct_utf8_string(
                            parameter.baseAddress, name.baseAddress, 0),
                        OSSL_PARAM_construct_end(),
                    ]
                    return key.withUnsafeBufferPointer { keyBytes in
                        EVP_MAC_init(context, keyBytes.baseAddress, keyBytes.count, &parameters)
                            == 1
                    }
                }
            }
            guard ok else { fatalError("HMAC-SHA-256 init: \(OpenSSLErrorStack.drain())") }
            self.context = context
        }

        deinit { EVP_MAC_CTX_free(context) }
    }
}
