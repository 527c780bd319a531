import Foundation

/// A throwaway CA with a server certificate (localhost, 127.0.0.1) and a client certificate,
/// generated with the `openssl` CLI into a fresh temporary directory, removed in `deinit`.
/// Test material only; the keys are written mode 0600, as `openssl` does for `-keyout`.
package final class TestCertificates: Sendable {
    package let directory: String
    package var caCertificate: String { directory + "/ca.crt" }
    package var serverCertificate: String { directory + "/server.crt" }
    package var serverKey: String { directory + "/server.key" }
    package var clientCertificate: String { directory + "/client.crt" }
    package var clientKey: String { directory + "/client.key" }

    private init(directory: String) { self.directory = directory }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Generates the CA, the server and the client certificate (P-256 keys, valid two days).
    package static func generate() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tokenproxy-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o700])
        let certificates = TestCertificates(directory: directory)
        try runOpenSSL(
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
        try runOpenSSL(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", directory + "/\(name).key", "-out", directory + "/\(name).csr", "-subj",
            subject)
        try runOpenSSL(
            "x509", "-req", "-in", directory + "/\(name).csr", "-CA", directory + "/ca.crt",
            "-CAkey", directory + "/ca.key", "-CAcreateserial", "-days", "2",
            "-out", directory + "/\(name).crt", "-extfile", extensionFile)
    }

    /// Runs `openssl` with `arguments`; throws unless it exits 0.
    package static func runOpenSSL(_ arguments: String...) throws {
        try runOpenSSL(arguments)
    }

    private static func runOpenSSL(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSupportError(
                "openssl \(arguments.first ?? "") exited with \(process.terminationStatus)")
        }
    }
}

/// A test helper could not set up what it promised (a tool failed, a server did not start).
package struct TestSupportError: Error, CustomStringConvertible {
    package let description: String

    package init(_ description: String) {
        self.description = description
    }
}
