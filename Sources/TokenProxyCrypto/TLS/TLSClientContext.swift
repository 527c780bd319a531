import Synchronization
import TokenProxyPosix

/// A TLS client context (OpenSSL `SSL_CTX`) built once from a `TLSClientConfiguration`
/// (loading a CA bundle is slow); `TLSSession`s are made from it.
///
/// Every session requires TLS ≥ 1.2 and verifies the server's chain (`SSL_VERIFY_PEER`); there
/// is deliberately no switch to turn verification off. Building the context reads every file
/// the configuration names, so a bad path fails at startup or reload, not on the first request.
/// The system trust store is the exception: parsing its ~150 certificates twice (OpenSSL's
/// default paths and the Debian bundle) took most of the daemon's exec → READY time and 1–2 MiB
/// that a daemon whose IdP and upstreams all use `ca_file` or plain HTTP never needs, so it is
/// loaded by the first session (`prepareForSession`), once, under a lock. The client key of mutual
/// TLS goes through `KeyFileLoader` like every other private key (permission check, size limit,
/// wiped buffer) and reaches OpenSSL as a parsed key, never as a file name.
package final class TLSClientContext: Sendable {
    package let configuration: TLSClientConfiguration
    /// Owns the `SSL_CTX`; configured only in `init`, read-only (and thread-safe) afterwards.
    let backing: Backing
    /// Whether the system trust store still has to be loaded (see `prepareForSession`).
    private let systemTrustStorePending: Mutex<Bool>
    /// Sessions to resume, per server (see `TLSSessionCache`).
    let sessionCache = TLSSessionCache()

    /// The CA bundle Debian-family systems ship; loaded in addition to OpenSSL's default paths.
    static let systemBundlePath = "/etc/ssl/certs/ca-certificates.crt"

    /// Builds the context. Throws `TLSError.configuration` naming the file that could not be
    /// used (never the contents of a key).
    package init(configuration: TLSClientConfiguration) throws(TLSError) {
        self.configuration = configuration
        systemTrustStorePending = Mutex(configuration.useSystemTrustStore)
        backing = try Backing()
        try backing.configureClientDefaults()
        try loadTrustAnchors()
        try loadClientCertificate()
    }

    private func loadTrustAnchors() throws(TLSError) {
        if !configuration.useSystemTrustStore && configuration.caFile == nil {
            throw .configuration(
                file: "(none)",
                detail:
                    "the system trust store is off and no CA file is set, so no server could be "
                    + "verified; set ca_file / --ca-file")
        }
        if let caFile = configuration.caFile {
            try loadVerifyLocations(caFile)
        }
    }

    /// Loads the system trust store (OpenSSL's default paths, then the Debian bundle) the first
    /// time a session is made from this context; later calls only take the lock. Called before
    /// `SSL_new`, so no handshake ever reads the store while it is being filled.
    func prepareForSession() throws(TLSError) {
        try systemTrustStorePending.withLock { pending throws(TLSError) in
            guard pending else { return }
            backing.useDefaultVerifyPaths()
            if (try? Posix.checkReadable(Self.systemBundlePath)) != nil {
                try loadVerifyLocations(Self.systemBundlePath)
            }
            pending = false
        }
    }

    /// Whether the system trust store is still to be loaded by the first session.
    var isSystemTrustStorePending: Bool { systemTrustStorePending.withLock { $0 } }

    private func loadVerifyLocations(_ file: String) throws(TLSError) {
        try Self.requireReadable(file, what: "CA file")
        if let errors = backing.loadVerifyLocations(file) {
            throw .configuration(
                file: file, detail: "not a PEM file of CA certificates (\(errors))")
        }
    }

    private func loadClientCertificate() throws(TLSError) {
        let certificate = configuration.clientCertificateFile
        let keyFile = configuration.clientKeyFile
        guard certificate != nil || keyFile != nil else { return }
        guard let certificate, let keyFile else {
            throw .configuration(
                file: certificate ?? keyFile ?? "",
                detail: "mutual TLS needs both a client certificate file and its key file; set both"
            )
        }
        try Self.requireReadable(certificate, what: "client certificate file")
        let key: PrivateKey
        do {
            key = try KeyFileLoader.loadPEMPrivateKey(
                path: keyFile,
                allowInsecurePermissions: configuration.allowInsecureKeyPermissions)
        } catch {
            throw .configuration(file: keyFile, detail: "\(error)")
        }
        if let errors = backing.useCertificateChain(certificate) {
            throw .configuration(
                file: certificate, detail: "not a PEM certificate chain (\(errors))")
        }
        switch backing.use(key) {
        case .used:
            break
        case .mismatch:
            throw Self.mismatch(key: keyFile, certificate: certificate)
        case .failed(let errors):
            throw .configuration(
                file: keyFile, detail: "OpenSSL refused the client key (\(errors))")
        }
    }

    private static func mismatch(key: String, certificate: String) -> TLSError {
        .configuration(
            file: key, detail: "this key does not belong to the certificate in '\(certificate)'")
    }

    /// Fails early, with the errno text, for a path we cannot read (OpenSSL's own message for a
    /// missing file is a list of library codes). The corresponding C function is `access`
    /// (through `Posix.checkReadable`).
    private static func requireReadable(_ file: String, what: String) throws(TLSError) {
        do {
            try Posix.checkReadable(file)
        } catch {
            throw .configuration(
                file: file,
                detail:
                    "cannot read this \(what): \(error.reason); check the path and permissions")
        }
    }
}
