internal import COpenSSL

extension TLSSession {
    /// Owns one `SSL` (and, once attached, its socket BIO), frees it in `deinit`, and carries
    /// the OpenSSL calls on it.
    final class Backing {
        /// The owned `SSL *`.
        private let pointer: OpaquePointer
        /// Keeps the `SSL_CTX` alive for as long as the `SSL` (OpenSSL also holds a reference).
        private let context: TLSClientContext
        private let serverName: String
        /// Where a session the server grants is kept (ex data index 0 points at it); nil when
        /// this connection does not resume.
        private var resumption: TLSSessionCache.Slot?

        /// Loads the context's deferred trust store first (`prepareForSession`), and turns on
        /// read-ahead.
        ///
        /// Read-ahead: without it OpenSSL reads each record with two `read(2)` calls (the 5-byte
        /// header, then exactly the rest); with it one `read` fills its record buffer (~16 KiB,
        /// allocated per connection either way) with whatever the socket holds, as nginx does
        /// for its upstreams. The price is that received bytes may then sit in OpenSSL's buffer
        /// where `SSL_pending` does not count them and epoll will not announce them:
        /// `hasBufferedData` asks `SSL_has_pending`, which does.
        /// The corresponding C functions are `SSL_new` and `SSL_set_read_ahead`.
        init(context: TLSClientContext, serverName: String) throws(TLSError) {
            try context.prepareForSession()
            OpenSSLErrorStack.clear()
            guard let pointer = SSL_new(context.backing.pointer) else {
                throw .protocolFailure(
                    host: serverName, detail: "SSL_new failed: \(OpenSSLErrorStack.drain())")
            }
            SSL_set_read_ahead(pointer, 1)
            self.pointer = pointer
            self.context = context
            self.serverName = serverName
        }

        deinit { SSL_free(pointer) }

        /// Offers the cached session for `key` (if any) and keeps the one the server grants
        /// under `key`. Before `SSL_connect`. The corresponding C function is `SSL_set_ex_data`.
        func resume(key: String) {
            let slot = TLSSessionCache.Slot(cache: context.sessionCache, key: key)
            resumption = slot
            _ = SSL_set_ex_data(pointer, 0, Unmanaged.passUnretained(slot).toOpaque())
            context.sessionCache.offer(key, to: pointer)
        }

        /// Forgets the cached session of this connection's server (its handshake failed).
        func forgetSession() {
            guard let resumption else { return }
            resumption.cache.remove(resumption.key)
        }

        /// Whether the handshake resumed a session. The corresponding C function is
        /// `SSL_session_reused`.
        var isResumed: Bool { SSL_session_reused(pointer) == 1 }

        /// Requires the certificate to name `name`: an IP address, or a DNS name (without
        /// partial wildcards such as `f*.example.org`) that is also sent as SNI.
        /// The corresponding C functions are `X509_VERIFY_PARAM_set1_ip_asc`,
        /// `SSL_set_hostflags`, `SSL_set1_host` and `SSL_set_tlsext_host_name`.
        func verifyPeer(named name: String, isIPAddress: Bool) throws(TLSError) {
            OpenSSLErrorStack.clear()
            if isIPAddress {
                try expectOne(
                    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(pointer), name),
                    "cannot verify IP address \(name)")
            } else {
                SSL_set_hostflags(pointer, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                try expectOne(SSL_set1_host(pointer, name), "cannot verify host name \(name)")
                try expectOne(
                    COpenSSL_SSL_set_tlsext_host_name(pointer, name), "cannot send SNI \(name)")
            }
        }

        /// Reads and writes through a `TLSSocketBIO` over `fd` (the `SSL` owns the BIO, not
        /// the descriptor). The corresponding C function is `SSL_set_bio`.
        func attachSocket(_ fd: Int32) throws(TLSError) {
            guard let bio = TLSSocketBIO.make(fd: fd) else {
                throw .protocolFailure(
                    host: serverName, detail: "BIO_new failed: \(OpenSSLErrorStack.drain())")
            }
            SSL_set_bio(pointer, bio, bio)
        }

        private func expectOne(_ result: Int32, _ what: @autoclosure () -> String)
            throws(TLSError)
        {
            guard result == 1 else {
                throw .protocolFailure(
                    host: serverName, detail: "\(what()): \(OpenSSLErrorStack.drain())")
            }
        }

        /// The corresponding C function is `SSL_connect`.
        func connect() -> Int32 { SSL_connect(pointer) }

        /// The corresponding C function is `SSL_read`.
        func read(into buffer: UnsafeMutableRawBufferPointer) -> Int32 {
            SSL_read(pointer, buffer.baseAddress, Int32(clamping: buffer.count))
        }

        /// The corresponding C function is `SSL_write`.
        func write(_ bytes: UnsafeRawBufferPointer) -> Int32 {
            SSL_write(pointer, bytes.baseAddress, Int32(clamping: bytes.count))
        }

        /// The corresponding C function is `SSL_peek`.
        func peekOneByte() -> Int32 {
            var byte: UInt8 = 0
            return SSL_peek(pointer, &byte, 1)
        }

        /// Decrypted bytes ready for `SSL_read`. The corresponding C function is `SSL_pending`.
        var pending: Int32 { SSL_pending(pointer) }

        /// Whether OpenSSL holds decrypted bytes or received bytes of records not yet processed
        /// (read ahead). The corresponding C function is `SSL_has_pending`.
        var hasPending: Bool { SSL_has_pending(pointer) == 1 }

        /// The corresponding C function is `SSL_shutdown`.
        func shutdown() { _ = SSL_shutdown(pointer) }

        /// The corresponding C function is `SSL_get_error`.
        func error(for result: Int32) -> Int32 { SSL_get_error(pointer, result) }

        /// Why the server's certificate did not verify, or nil if it did (or was not checked
        /// yet). The corresponding C function is `SSL_get_verify_result`.
        func verificationFailure(name: String) -> String? {
            let result = SSL_get_verify_result(pointer)
            guard result != X509_V_OK else { return nil }
            OpenSSLErrorStack.clear()
            return TLSSession.verificationReason(Int32(result), name: name)
        }
    }
}
