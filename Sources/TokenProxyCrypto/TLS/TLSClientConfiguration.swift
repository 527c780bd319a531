/// Settings for verifying servers; a `TLSClientContext` is built from them once.
package struct TLSClientConfiguration: Sendable, Hashable {
    /// Extra trust anchors (PEM), in addition to the system store unless `useSystemTrustStore`
    /// is false.
    package var caFile: String?
    /// Trust the system CA bundle (`/etc/ssl/certs/ca-certificates.crt`).
    package var useSystemTrustStore: Bool
    /// Client certificate chain (PEM) for mutual TLS.
    package var clientCertificateFile: String?
    /// Private key (PEM) for `clientCertificateFile`, loaded like every other key: see
    /// `KeyFileLoader.loadPEMPrivateKey(path:allowInsecurePermissions:)`.
    package var clientKeyFile: String?
    /// Accept a client key file that group or others can read (as for credential keys).
    package var allowInsecureKeyPermissions: Bool

    package init(
        caFile: String? = nil, useSystemTrustStore: Bool = true,
        clientCertificateFile: String? = nil, clientKeyFile: String? = nil,
        allowInsecureKeyPermissions: Bool = false
    ) {
        self.caFile = caFile
        self.useSystemTrustStore = useSystemTrustStore
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.allowInsecureKeyPermissions = allowInsecureKeyPermissions
    }
}
