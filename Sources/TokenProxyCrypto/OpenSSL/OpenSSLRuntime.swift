internal import COpenSSL

/// Process-wide OpenSSL settings.
package enum OpenSSLRuntime {
    /// Stops OpenSSL from freeing its global state in an `atexit` handler. A daemon exits while
    /// Dispatch threads may still be signing an assertion; with the handler, such a thread
    /// calls into freed locks and the process dies with SIGSEGV instead of exiting 0 (seen in
    /// the SIGTERM test). The kernel reclaims the memory anyway.
    /// The corresponding C function is `OPENSSL_init_crypto` with `OPENSSL_INIT_NO_ATEXIT`.
    package static func disableExitCleanup() {
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
    }

    /// Where OpenSSL keeps private keys' secret numbers after `enableSecureHeap`.
    package enum SecureHeap: Sendable, Equatable {
        /// Locked in RAM (`mlock`): never swapped, left out of core dumps (`MADV_DONTDUMP`).
        case locked
        /// Allocated, but `mlock` was refused (`RLIMIT_MEMLOCK`, a seccomp filter): still
        /// left out of core dumps and guarded by inaccessible pages, but could be swapped.
        case unlocked
        /// Not available: keys live on the ordinary heap.
        case unavailable
    }

    /// Turns on OpenSSL's secure heap, from which OpenSSL 3 allocates the secret numbers of
    /// RSA and EC private keys as it decodes them (`BN_secure_new`). Call once, before any key
    /// is loaded. `bytes` and `minimum` must be powers of two.
    /// The corresponding C function is `CRYPTO_secure_malloc_init`.
    package static func enableSecureHeap(bytes: Int, minimum: Int) -> SecureHeap {
        switch CRYPTO_secure_malloc_init(bytes, minimum) {
        case 1: return .locked
        case 2: return .unlocked
        default: return .unavailable
        }
    }

    /// Bytes of the secure heap in use (a test shows keys land there).
    /// The corresponding C function is `CRYPTO_secure_used`.
    package static var secureHeapUsed: Int { Int(CRYPTO_secure_used()) }
}
