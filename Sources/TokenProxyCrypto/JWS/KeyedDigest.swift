internal import COpenSSL

/// HMAC-SHA-256 (RFC 2104) under a key drawn from the CSPRNG when the value is made: the name
/// under which a cache may remember a bearer token without holding the token. Without the key
/// (it never leaves the process and is not written anywhere) a digest in a memory dump cannot
/// be tested against guessed tokens, which a plain hash would allow.
package struct KeyedDigest: Sendable {
    private let key: [UInt8]

    /// A digest under a fresh random key of `keyBytes` bytes.
    package init(keyBytes: Int = 32) {
        key = SecureRandom.bytes(keyBytes)
    }

    /// A digest under a known key: for the RFC 4231 vectors in the tests only.
    init(key: [UInt8]) {
        self.key = key
    }

    /// The 32-byte HMAC-SHA-256 of `parts`, each preceded by its length so that
    /// ("ab", "c") and ("a", "bc") differ. The corresponding C function is `EVP_Q_mac`.
    package func digest(_ parts: [String]) -> [UInt8] {
        var message: [UInt8] = []
        for part in parts {
            let utf8 = Array(part.utf8)
            withUnsafeBytes(of: UInt64(utf8.count).bigEndian) { message.append(contentsOf: $0) }
            message.append(contentsOf: utf8)
        }
        return mac(message)
    }

    /// HMAC-SHA-256 of `message`.
    func mac(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        let result = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBufferPointer { data in
                out.withUnsafeMutableBufferPointer { output in
                    EVP_Q_mac(
                        nil, "HMAC", nil, "SHA256", nil, keyBytes.baseAddress, keyBytes.count,
                        data.baseAddress, data.count, output.baseAddress, output.count, &length)
                }
            }
        }
        // HMAC-SHA-256 with a valid key cannot fail short of a broken library; a constant
        // name instead would merge every token into one cache entry, so stop instead.
        guard result != nil, length == 32 else {
            fatalError("HMAC-SHA-256 failed: \(OpenSSLErrorStack.drain())")
        }
        return out
    }
}
