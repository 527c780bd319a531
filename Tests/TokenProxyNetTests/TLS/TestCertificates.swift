import Foundation

/// A throwaway CA with a server certificate (localhost, 127.0.0.1) and a client certificate,
/// generated with the `openssl` CLI into a fresh temporary directory. Test material only.
final class TestCertificates: Sendable {
    let directory: String
    var caCertificate: String { directory + "/ca.crt" }
    var serverCertificate: String { directory + "/server.crt" }
    var serverKey: String { directory + "/server.key" }
    var clientCertificate: String { directory + "/client.crt" }
    var clientKey: String { directory + "/client.key" }

    private init(directory: String) { self.directory = directory }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Generates the CA, the server and the client certificate (P-256 keys, valid two days).
    static func generate() throws -> TestCertificates {
        let certificates = TestCertificates(directory: try makeTemporaryDirectory())
        let directory = certificates.directory
        try run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", directory + "/ca.key", "-out", directory + "/ca.crt", "-days", "2",
            "-subj", "/CN=tokenproxy throwaway test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign")
        try issue(
            "server", subject: "/CN=localhost",
            extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1",
            in: directory)
        try issue(
            "client", subject: "/CN=test-client", extensions: "extendedKeyUsage=clientAuth",
            in: directory
        )
        return certificates
    }

    private static func issue(
        _ name: String, subject: String, extensions: String, in directory: String
    ) throws {
        let extensionFile = directory + "/\(name).ext"
        try (extensions + "\n").write(toFile: extensionFile, atomically: true, encoding: .utf8)
        try run(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", directory + "/\(name).key", "-out", directory + "/\(name).csr", "-subj",
            subject)
        try run(
            "x509", "-req", "-in", directory + "/\(name).csr", "-CA", directory + "/ca.crt",
            "-CAkey", directory + "/ca.key", "-CAcreateserial", "-days", "2",
            "-out", directory + "/\(name).crt", "-extfile", extensionFile)
    }

    private static func run(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestListenerError.failed(
                "openssl \(arguments.first ?? "")", process.terminationStatus)
        }
    }
}
