internal import COpenSSL

/// Scoped OpenSSL memory BIOs: each lives exactly as long as the closure that uses it, so no
/// path (including a throw) can leak one or use one after it is freed.
enum OpenSSLBIO {
    /// Lends `body` a read-only memory BIO over `bytes`, read in place (no copy of a secret is
    /// made), freed when `body` returns.
    ///
    /// The corresponding C functions are `BIO_new_mem_buf` and `BIO_free`.
    static func withReadOnlyMemoryBIO<Result>(
        _ bytes: UnsafeRawBufferPointer, _ body: (OpaquePointer) throws -> Result
    ) throws -> Result {
        guard bytes.count <= Int(Int32.max),
            let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count))
        else {
            throw CryptoError.openSSL(
                operation: "allocate a memory BIO", errors: .drain())
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }

    /// Lends `write` a fresh writable memory BIO and returns what it wrote. With `secure`, the
    /// BIO's memory comes from OpenSSL's secure heap and is wiped when freed (for private key
    /// output).
    ///
    /// The corresponding C functions are `BIO_new`, `BIO_s_mem`, `BIO_s_secmem`,
    /// `BIO_get_mem_data` and `BIO_free`.
    static func withWritableMemoryBIO(
        secure: Bool, _ write: (OpaquePointer) throws -> Void
    ) throws -> [UInt8] {
        guard let bio = BIO_new(secure ? BIO_s_secmem() : BIO_s_mem()) else {
            throw CryptoError.openSSL(operation: "allocate a memory BIO", errors: .drain())
        }
        defer { BIO_free(bio) }
        try write(bio)
        var data: UnsafeMutablePointer<CChar>?
        let length = COpenSSL_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else {
            throw CryptoError.openSSL(operation: "read a memory BIO", errors: .drain())
        }
        return data.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            Array(UnsafeBufferPointer(start: $0, count: Int(length)))
        }
    }
}
