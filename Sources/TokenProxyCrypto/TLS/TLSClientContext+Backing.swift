internal import COpenSSL

extension TLSClientContext {
    /// Owns one `SSL_CTX`, frees it in `deinit`, and carries the OpenSSL calls on it.
    ///
    /// `@unchecked Sendable`: an `SSL_CTX` is safe to share between threads once configured,
    /// and `TLSClientContext` configures it only inside its `init`.
    final class Backing: @unchecked Sendable {
        /// The owned `SSL_CTX *`.
        let pointer: OpaquePointer

        /// The corresponding C functions are `SSL_CTX_new` and `TLS_client_method`.
        init() throws(TLSError) {
            OpenSSLErrorStack.clear()
            guard let pointer = SSL_CTX_new(TLS_client_method()) else {
                throw .configuration(
                    file: "(none)", detail: "SSL_CTX_new failed: \(OpenSSLErrorStack.drain())")
            }
            self.pointer = pointer
        }

        deinit { SSL_CTX_free(pointer) }

        /// TLS ≥ 1.2, peer verification, non-blocking write semantics, no passphrase prompts,
        /// client sessions kept for resumption. The corresponding C functions are
        /// `SSL_CTX_set_min_proto_version`, `SSL_CTX_set_verify`, `SSL_CTX_set_mode`,
        /// `SSL_CTX_set_default_passwd_cb`, `SSL_CTX_set_session_cache_mode` and
        /// `SSL_CTX_sess_set_new_cb`.
        func configureClientDefaults() throws(TLSError) {
            guard COpenSSL_SSL_CTX_set_min_proto_version(pointer, COpenSSL_TLS1_2_VERSION()) == 1
            else {
                throw .configuration(
                    file: "(none)", detail: "cannot require TLS 1.2: \(OpenSSLErrorStack.drain())")
            }
            SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER, nil)
            // Non-blocking I/O: SSL_write may write part of a buffer, and a retried SSL_write
            // may pass the same bytes at a different address (Swift arrays can move).
            // Released buffers: a connection's ~17 KiB read and write record buffers go back to
            // malloc whenever they are empty, as nginx sets it, so an idle pooled upstream
            // connection holds none (about 34 KiB each otherwise) and busy connections take
            // turns with the same warm memory; the price is a malloc and free per record.
            _ = COpenSSL_SSL_CTX_set_mode(
                pointer,
                Int(
                    SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                        | SSL_MODE_RELEASE_BUFFERS))
            // Keys are parsed by `KeyFileLoader`, but no OpenSSL path may ever prompt on the
            // daemon's terminal.
            SSL_CTX_set_default_passwd_cb(pointer) { _, _, _, _ in 0 }
            // Sessions go to the context's `TLSSessionCache` through the callback (OpenSSL's
            // own client cache would keep them but never offer them).
            _ = SSL_CTX_ctrl(
                pointer, SSL_CTRL_SET_SESS_CACHE_MODE,
                Int(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE), nil)
            SSL_CTX_sess_set_new_cb(pointer, TLSSessionCache.newSessionCallback)
        }

        /// Trusts what `SSL_CERT_FILE` / `SSL_CERT_DIR` name, then OpenSSL's compiled-in
        /// directory; a missing default is not an error. The corresponding C function is
        /// `SSL_CTX_set_default_verify_paths`.
        func useDefaultVerifyPaths() {
            _ = SSL_CTX_set_default_verify_paths(pointer)
            OpenSSLErrorStack.clear()
        }

        /// Adds the CA certificates in `file`; nil on success, else why not.
        /// The corresponding C function is `SSL_CTX_load_verify_locations`.
        func loadVerifyLocations(_ file: String) -> OpenSSLErrorStack? {
            OpenSSLErrorStack.clear()
            return SSL_CTX_load_verify_locations(pointer, file, nil) == 1
                ? nil : OpenSSLErrorStack.drain()
        }

        /// Presents the certificate chain in `file`; nil on success, else why not.
        /// The corresponding C function is `SSL_CTX_use_certificate_chain_file`.
        func useCertificateChain(_ file: String) -> OpenSSLErrorStack? {
            OpenSSLErrorStack.clear()
            return SSL_CTX_use_certificate_chain_file(pointer, file) == 1
                ? nil : OpenSSLErrorStack.drain()
        }

        /// What `use(_:)` came to.
        enum KeyOutcome {
            case used
            /// The key does not belong to the certificate already loaded.
            case mismatch
            case failed(OpenSSLErrorStack)
        }

        /// Signs client authentication with `key` (OpenSSL takes its own reference to the
        /// `EVP_PKEY`) after checking it matches the loaded certificate.
        /// The corresponding C functions are `SSL_CTX_use_PrivateKey` and
        /// `SSL_CTX_check_private_key`.
        func use(_ key: PrivateKey) -> KeyOutcome {
            OpenSSLErrorStack.clear()
            guard SSL_CTX_use_PrivateKey(pointer, key.backing.pointer) == 1 else {
                // OpenSSL already compares the key with the loaded certificate here.
                let errors = OpenSSLErrorStack.drain()
                return errors.contains(reason: X509_R_KEY_VALUES_MISMATCH)
                    ? .mismatch : .failed(errors)
            }
            guard SSL_CTX_check_private_key(pointer) == 1 else {
                OpenSSLErrorStack.clear()
                return .mismatch
            }
            return .used
        }
    }
}
