internal import COpenSSL
import Glibc
import TokenProxyPosix

/// Settings for verifying servers; a `TLSClientContext` is built from them once.
package struct TLSClientConfiguration: Sendable, Equatable {
    /// Extra trust anchors (PEM), in addition to the system store unless `useSystemTrustStore` is false.
    package var caFile: String?
    /// Trust the system CA bundle (`/etc/ssl/certs/ca-certificates.crt`).
    package var useSystemTrustStore: Bool
    /// Client certificate chain (PEM) for mutual TLS.
    package var clientCertificateFile: String?
    /// Private key (PEM) for `clientCertificateFile`.
    package var clientKeyFile: String?

    package init(
        caFile: String? = nil, useSystemTrustStore: Bool = true,
        clientCertificateFile: String? = nil, clientKeyFile: String? = nil
    ) {
        self.caFile = caFile
        self.useSystemTrustStore = useSystemTrustStore
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }
}

/// An OpenSSL `SSL_CTX` built once from a `TLSClientConfiguration` (loading a CA bundle is slow).
///
/// Every connection made with it requires TLS ≥ 1.2 and verifies the server's chain
/// (`SSL_VERIFY_PEER`); there is deliberately no switch to turn verification off.
/// Building the context reads every file, so a bad path fails at startup or reload, not on the
/// first request.
package final class TLSClientContext: @unchecked Sendable {
    // @unchecked: `SSL_CTX` is safe to share between threads once configured, and it is only
    // configured inside `init`.

    package let configuration: TLSClientConfiguration

    /// The owned `SSL_CTX`, freed in `deinit`.
    let context: OpaquePointer

    /// The CA bundle Debian-family systems ship; loaded in addition to OpenSSL's default paths.
    static let systemBundlePath = "/etc/ssl/certs/ca-certificates.crt"

    /// Builds the context. Throws `NetError.tlsConfiguration` naming the file that could not be
    /// used (never the contents of a key).
    ///
    /// The corresponding C functions are `SSL_CTX_new`, `SSL_CTX_set_default_verify_paths`,
    /// `SSL_CTX_load_verify_locations`, `SSL_CTX_use_certificate_chain_file`,
    /// `SSL_CTX_use_PrivateKey_file` and `SSL_CTX_check_private_key`.
    package init(configuration: TLSClientConfiguration) throws {
        self.configuration = configuration
        OpenSSLError.clearQueue()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw NetError.tlsConfiguration(
                file: "(none)", detail: "SSL_CTX_new failed: \(OpenSSLError.drainQueue())")
        }
        self.context = context
        try configureProtocol()
        try loadTrustAnchors()
        try loadClientCertificate()
    }

    deinit {
        SSL_CTX_free(context)
    }

    private func configureProtocol() throws {
        guard COpenSSL_SSL_CTX_set_min_proto_version(context, COpenSSL_TLS1_2_VERSION()) == 1 else {
            throw NetError.tlsConfiguration(
                file: "(none)", detail: "cannot require TLS 1.2: \(OpenSSLError.drainQueue())")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        // Non-blocking I/O: SSL_write may write part of a buffer, and a retried SSL_write may
        // pass the same bytes at a different address (Swift arrays can move).
        _ = COpenSSL_SSL_CTX_set_mode(
            context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        // An encrypted key must fail with an error, not prompt on the daemon's terminal.
        SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }
    }

    private func loadTrustAnchors() throws {
        if configuration.useSystemTrustStore {
            // Honours SSL_CERT_FILE / SSL_CERT_DIR, then OpenSSL's compiled-in directory.
            _ = SSL_CTX_set_default_verify_paths(context)
            OpenSSLError.clearQueue()
            if (try? Posix.checkReadable(Self.systemBundlePath)) != nil {
                try loadVerifyLocations(Self.systemBundlePath)
            }
        } else if configuration.caFile == nil {
            throw NetError.tlsConfiguration(
                file: "(none)",
                detail:
                    "the system trust store is off and no CA file is set, so no server could be "
                    + "verified; set ca_file / --ca-file")
        }
        if let caFile = configuration.caFile {
            try loadVerifyLocations(caFile)
        }
    }

    private func loadVerifyLocations(_ file: String) throws {
        try Self.requireReadable(file, what: "CA file")
        guard SSL_CTX_load_verify_locations(context, file, nil) == 1 else {
            throw NetError.tlsConfiguration(
                file: file,
                detail:
                    "not a PEM file of CA certificates (\(OpenSSLError.drainQueue(or: "no certificate found")))"
            )
        }
    }

    private func loadClientCertificate() throws {
        let certificate = configuration.clientCertificateFile
        let key = configuration.clientKeyFile
        guard certificate != nil || key != nil else { return }
        guard let certificate, let key else {
            throw NetError.tlsConfiguration(
                file: certificate ?? key ?? "",
                detail: "mutual TLS needs both a client certificate file and its key file; set both"
            )
        }
        try Self.requireReadable(certificate, what: "client certificate file")
        try Self.requireReadable(key, what: "client key file")
        guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
            throw NetError.tlsConfiguration(
                file: certificate,
                detail:
                    "not a PEM certificate chain (\(OpenSSLError.drainQueue(or: "no certificate found")))"
            )
        }
        guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
            // OpenSSL already compares the key with the loaded certificate here.
            if OpenSSLError.lastQueuedReason == X509_R_KEY_VALUES_MISMATCH {
                OpenSSLError.clearQueue()
                throw Self.mismatch(key: key, certificate: certificate)
            }
            throw NetError.tlsConfiguration(
                file: key,
                detail:
                    "not an unencrypted PEM private key (\(OpenSSLError.drainQueue(or: "no key found")))"
            )
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            OpenSSLError.clearQueue()
            throw Self.mismatch(key: key, certificate: certificate)
        }
    }

    private static func mismatch(key: String, certificate: String) -> NetError {
        .tlsConfiguration(
            file: key, detail: "this key does not belong to the certificate in '\(certificate)'")
    }

    /// Fails early, with the errno text, for a path we cannot read (OpenSSL's own message for a
    /// missing file is a list of library codes).
    private static func requireReadable(_ file: String, what: String) throws {
        do {
            try Posix.checkReadable(file)
        } catch {
            throw NetError.tlsConfiguration(
                file: file,
                detail:
                    "cannot read this \(what): \(error.reason); check the path and permissions")
        }
    }
}
