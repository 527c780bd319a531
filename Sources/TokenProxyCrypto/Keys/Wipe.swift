internal import COpenSSL

/// Overwrites secret bytes in place before their memory is released.
///
/// Swift arrays are copy-on-write: wiping through `withUnsafeMutableBytes` reaches the caller's
/// storage only while the array holds the sole reference to it. Callers therefore keep secret
/// buffers in one variable, preallocate them (`reserveCapacity`) so that appending never moves
/// them, and wipe that variable.
enum Wipe {
    /// Zeroes every byte of `bytes` without changing its count. The corresponding C function is
    /// `OPENSSL_cleanse`, which the compiler cannot elide as a dead store.
    static func bytes(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress, buffer.count > 0 {
                OPENSSL_cleanse(base, buffer.count)
            }
        }
    }
}
