// STUB: replaced by the transport work (OpenSSL TLS client).

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
package final class TLSClientContext: @unchecked Sendable {
    package let configuration: TLSClientConfiguration

    package init(configuration: TLSClientConfiguration) throws {
        self.configuration = configuration
    }
}

/// TLS (≥ 1.2) over a connected socket, with SNI and host-name verification.
package final class TLSStream: ByteStream, @unchecked Sendable {
    private init() {}

    /// Performs the handshake with `serverName` (SNI and the name the certificate must match).
    package static func connect(
        over socket: SocketStream, serverName: String, context: TLSClientContext,
        deadline: ContinuousClock.Instant
    ) throws -> TLSStream {
        fatalError("TLSStream.connect not implemented yet")
    }

    package func read(maxLength: Int, deadline: ContinuousClock.Instant) throws -> [UInt8] {
        fatalError("not implemented yet")
    }

    package func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        fatalError("not implemented yet")
    }

    package func close() {}
}
