import Foundation
import Testing
import TokenProxyTestSupport

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct TLSClientContextTests {
    private func expectConfigurationError(
        naming file: String, containing parts: [String], _ configuration: TLSClientConfiguration
    ) {
        let error = #expect(throws: TLSError.self) {
            _ = try TLSClientContext(configuration: configuration)
        }
        guard case .configuration(let reportedFile, let detail) = error else {
            Issue.record("expected TLSError.configuration, got \(String(describing: error))")
            return
        }
        #expect(reportedFile == file)
        for part in parts {
            #expect(detail.contains(part), "\(detail)")
        }
    }

    @Test func buildsWithTheSystemTrustStore() throws {
        _ = try TLSClientContext(configuration: .init())
    }

    /// Start-up cost: the ~150 system CA certificates are parsed by the first session, once.
    @Test func loadsTheSystemTrustStoreWithTheFirstSession() throws {
        let context = try TLSClientContext(configuration: .init())
        #expect(context.isSystemTrustStorePending)
        _ = try TLSSession(context: context, fileDescriptor: -1, serverName: "example.org")
        #expect(!context.isSystemTrustStorePending)
        _ = try TLSSession(context: context, fileDescriptor: -1, serverName: "example.org")
        #expect(!context.isSystemTrustStorePending)
    }

    @Test func withoutTheSystemTrustStoreNothingIsDeferred() throws {
        let certificates = try TestCertificates.generate()
        let context = try TLSClientContext(
            configuration: .init(caFile: certificates.caCertificate, useSystemTrustStore: false))
        #expect(!context.isSystemTrustStorePending)
    }

    @Test func missingCAFileNamesTheFile() throws {
        let directory = try TestSupport.makeTempDir()
        defer { TestSupport.cleanup(directory) }
        let path = directory + "/missing-ca.pem"
        expectConfigurationError(naming: path, containing: ["No such file"], .init(caFile: path))
    }

    @Test func caFileThatIsNotPEMNamesTheFile() throws {
        let directory = try TestSupport.makeTempDir()
        defer { TestSupport.cleanup(directory) }
        let path = directory + "/not-a-ca.pem"
        try "just some text\n".write(toFile: path, atomically: true, encoding: .utf8)
        expectConfigurationError(naming: path, containing: ["not a PEM file"], .init(caFile: path))
    }

    @Test func refusesAnEmptyTrustStore() {
        expectConfigurationError(
            naming: "(none)", containing: ["ca_file"], .init(useSystemTrustStore: false))
    }

    @Test func clientCertificateNeedsItsKey() throws {
        let certificates = try TestCertificates.generate()
        expectConfigurationError(
            naming: certificates.clientCertificate, containing: ["both"],
            .init(clientCertificateFile: certificates.clientCertificate))
    }

    @Test func mismatchedClientKeyNamesBothFiles() throws {
        let certificates = try TestCertificates.generate()
        expectConfigurationError(
            naming: certificates.serverKey, containing: [certificates.clientCertificate],
            .init(
                clientCertificateFile: certificates.clientCertificate,
                clientKeyFile: certificates.serverKey
            ))
    }

    @Test func keyFileThatIsNotAKeyNamesTheFileNotItsContents() throws {
        let certificates = try TestCertificates.generate()
        // A certificate where the key belongs: it holds no private key.
        chmod(certificates.caCertificate, 0o600)
        let error = #expect(throws: TLSError.self) {
            _ = try TLSClientContext(
                configuration: .init(
                    clientCertificateFile: certificates.clientCertificate,
                    clientKeyFile: certificates.caCertificate))
        }
        guard case .configuration(let file, let detail) = error else {
            Issue.record("expected TLSError.configuration, got \(String(describing: error))")
            return
        }
        #expect(file == certificates.caCertificate)
        #expect(detail.contains("no usable private key"), "\(detail)")
        #expect(!detail.contains("BEGIN"))
    }

    @Test func loadsAClientCertificateAndKey() throws {
        let certificates = try TestCertificates.generate()
        _ = try TLSClientContext(
            configuration: .init(
                caFile: certificates.caCertificate,
                clientCertificateFile: certificates.clientCertificate,
                clientKeyFile: certificates.clientKey))
    }

    /// The client key goes through `KeyFileLoader`: the same refusal (and `chmod 600` advice)
    /// as a credential key that group or others can read.
    @Test func refusesAGroupReadableClientKeyLikeCredentialKeys() throws {
        let certificates = try TestCertificates.generate()
        chmod(certificates.clientKey, 0o640)
        let credentialMessage = CryptoError.keyFileInsecurePermissions(
            path: certificates.clientKey, mode: 0o100640, refusal: .ownedByThisUser
        ).description
        expectConfigurationError(
            naming: certificates.clientKey, containing: [credentialMessage, "chmod 600"],
            .init(
                clientCertificateFile: certificates.clientCertificate,
                clientKeyFile: certificates.clientKey))
    }

    @Test func acceptsAGroupReadableClientKeyWhenAllowed() throws {
        let certificates = try TestCertificates.generate()
        chmod(certificates.clientKey, 0o640)
        _ = try TLSClientContext(
            configuration: .init(
                clientCertificateFile: certificates.clientCertificate,
                clientKeyFile: certificates.clientKey, allowInsecureKeyPermissions: true))
    }

    @Test func refusesAnEncryptedClientKeyWithTheDecryptCommand() throws {
        let certificates = try TestCertificates.generate()
        let encrypted = certificates.directory + "/encrypted.key"
        try TestCertificates.runOpenSSL(
            "pkey", "-in", certificates.clientKey, "-aes256", "-passout", "pass:throwaway",
            "-out", encrypted)
        chmod(encrypted, 0o600)
        expectConfigurationError(
            naming: encrypted, containing: ["encrypted with a passphrase", "openssl pkey"],
            .init(
                clientCertificateFile: certificates.clientCertificate, clientKeyFile: encrypted))
    }
}
