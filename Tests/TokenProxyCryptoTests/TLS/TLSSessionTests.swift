import Foundation
import Testing
import TokenProxyTestSupport

@testable import TokenProxyCrypto

@Suite(.timeLimit(.minutes(1)))
struct TLSSessionTests {
    /// Handshakes over a blocking socket, sends a GET and reads to end of stream.
    private func get(
        port: Int, serverName: String = "localhost", configuration: TLSClientConfiguration
    ) throws -> (response: String, end: TLSResult<Int>) {
        let context = try TLSClientContext(configuration: configuration)
        let socket = try TestSocket(port: port)
        let session = try TLSSession(
            context: context, fileDescriptor: socket.fd, serverName: serverName)
        if case .failed(let error) = session.handshake() { throw error }
        let request = Array("GET / HTTP/1.1\r\nHost: \(serverName)\r\n\r\n".utf8)
        guard case .done(request.count) = request.withUnsafeBytes({ session.write($0) }) else {
            throw TestSupportError("the request was not written in one go")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = buffer.withUnsafeMutableBytes { session.read(into: $0) }
            guard case .done(let count) = result else {
                session.shutdown()
                return (String(decoding: response, as: UTF8.self), result)
            }
            response += buffer.prefix(count)
        }
    }

    @Test func presentsTheClientKeyLoadedByKeyFileLoaderForMutualTLS() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey,
            clientCA: certificates.caCertificate)
        let (response, end) = try get(
            port: server.port,
            configuration: .init(
                caFile: certificates.caCertificate,
                clientCertificateFile: certificates.clientCertificate,
                clientKeyFile: certificates.clientKey))
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.hasSuffix("hello test-client"))
        guard case .closed = end else {
            Issue.record("expected close_notify, got \(end)")
            return
        }
    }

    @Test func reportsATCPCloseWithoutCloseNotify() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey,
            ending: .abrupt)
        let (response, end) = try get(
            port: server.port, configuration: .init(caFile: certificates.caCertificate))
        #expect(response.hasSuffix("hello anonymous"))
        guard case .closedWithoutCloseNotify = end else {
            Issue.record("expected closedWithoutCloseNotify, got \(end)")
            return
        }
    }

    @Test func unknownIssuerFailsVerificationWithCAFileHint() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let error = #expect(throws: TLSError.self) {
            _ = try get(port: server.port, configuration: .init())
        }
        guard case .certificateVerification("localhost", let reason) = error else {
            Issue.record("expected certificateVerification, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("unable to get local issuer certificate"), "\(reason)")
        #expect(reason.contains("--ca-file"), "\(reason)")
    }

    @Test func refusesAnEmptyServerName() throws {
        let context = try TLSClientContext(configuration: .init())
        let error = #expect(throws: TLSError.self) {
            _ = try TLSSession(context: context, fileDescriptor: -1, serverName: "")
        }
        #expect(error == .protocolFailure(host: "", detail: "the server name is empty"))
    }

    @Test func classifiesServerNames() {
        #expect(TLSSession.isIPAddress("127.0.0.1"))
        #expect(TLSSession.isIPAddress("::1"))
        #expect(!TLSSession.isIPAddress("localhost"))
        #expect(!TLSSession.isIPAddress("1.2.3.4.example"))
        #expect(TLSSession.unbracketed("[::1]") == "::1")
        #expect(TLSSession.unbracketed("localhost") == "localhost")
    }
}
