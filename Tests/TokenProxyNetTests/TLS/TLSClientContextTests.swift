import Foundation
import Testing

@testable import TokenProxyNet

struct TLSClientContextTests {
    private func expectConfigurationError(
        naming file: String, containing part: String, _ configuration: TLSClientConfiguration
    ) {
        let error = #expect(throws: NetError.self) {
            _ = try TLSClientContext(configuration: configuration)
        }
        guard case .tlsConfiguration(let reportedFile, let detail) = error else {
            Issue.record("expected NetError.tlsConfiguration, got \(String(describing: error))")
            return
        }
        #expect(reportedFile == file)
        #expect(detail.contains(part), "\(detail)")
    }

    @Test func buildsWithTheSystemTrustStore() throws {
        _ = try TLSClientContext(configuration: .init())
    }

    @Test func missingCAFileNamesTheFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/missing-ca.pem"
        expectConfigurationError(naming: path, containing: "No such file", .init(caFile: path))
    }

    @Test func caFileThatIsNotPEMNamesTheFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/not-a-ca.pem"
        try "just some text\n".write(toFile: path, atomically: true, encoding: .utf8)
        expectConfigurationError(naming: path, containing: "not a PEM file", .init(caFile: path))
    }

    @Test func refusesAnEmptyTrustStore() {
        expectConfigurationError(
            naming: "(none)", containing: "ca_file", .init(useSystemTrustStore: false))
    }

    @Test func clientCertificateNeedsItsKey() throws {
        let certificates = try TestCertificates.generate()
        expectConfigurationError(
            naming: certificates.clientCertificate, containing: "both",
            .init(clientCertificateFile: certificates.clientCertificate))
    }

    @Test func mismatchedClientKeyNamesBothFiles() throws {
        let certificates = try TestCertificates.generate()
        expectConfigurationError(
            naming: certificates.serverKey, containing: certificates.clientCertificate,
            .init(
                clientCertificateFile: certificates.clientCertificate,
                clientKeyFile: certificates.serverKey
            ))
    }

    @Test func keyFileThatIsNotAKeyNamesTheFileNotItsContents() throws {
        let certificates = try TestCertificates.generate()
        // A certificate where the key belongs: OpenSSL cannot parse it as a key.
        let error = #expect(throws: NetError.self) {
            _ = try TLSClientContext(
                configuration: .init(
                    clientCertificateFile: certificates.clientCertificate,
                    clientKeyFile: certificates.caCertificate))
        }
        guard case .tlsConfiguration(let file, let detail) = error else {
            Issue.record("expected NetError.tlsConfiguration, got \(String(describing: error))")
            return
        }
        #expect(file == certificates.caCertificate)
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
}
