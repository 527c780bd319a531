internal import COpenSSL

/// Random bytes from OpenSSL's CSPRNG.
package enum SecureRandom {
    /// Returns `count` bytes from `RAND_bytes`.
    ///
    /// A failing CSPRNG leaves nothing safe to do (every `jti` and generated key would be
    /// predictable), so this stops the process instead of throwing.
    /// The corresponding C function is `RAND_bytes`.
    package static func bytes(_ count: Int) -> [UInt8] {
        precondition(
            count >= 0 && count <= Int(Int32.max), "SecureRandom.bytes: bad count \(count)")
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        let rc = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        if rc != 1 {
            fatalError(
                "RAND_bytes failed: \(OpenSSLErrorStack.drain()); cannot continue without randomness"
            )
        }
        return out
    }
}
