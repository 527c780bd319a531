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
}
