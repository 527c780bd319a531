import Foundation
import Testing
import TokenProxyTestSupport

@testable import TokenProxyCrypto

/// Session resumption against python3's `ssl` server (TLS 1.3, which sends its session tickets
/// after the handshake: they are read with the response).
@Suite(.timeLimit(.minutes(1)))
struct TLSSessionCacheTests {
    /// One request over a fresh connection; returns whether its handshake resumed a session.
    /// With `readResponse` false the connection ends right after the handshake, before the
    /// server's tickets are read.
    private func exchange(
        _ context: TLSClientContext, port: Int, serverName: String = "localhost",
        resumptionPort: Int?, readResponse: Bool = true
    ) throws -> Bool {
        let socket = try TestSocket(port: port)
        let session = try TLSSession(
            context: context, fileDescriptor: socket.fd, serverName: serverName,
            port: resumptionPort)
        if case .failed(let error) = session.handshake() { throw error }
        let resumed = session.isResumed
        guard readResponse else { return resumed }
        let request = Array("GET / HTTP/1.1\r\nHost: \(serverName)\r\n\r\n".utf8)
        guard case .done(request.count) = request.withUnsafeBytes({ session.write($0) }) else {
            throw TestSupportError("the request was not written in one go")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case .done(let count) = buffer.withUnsafeMutableBytes({ session.read(into: $0) }) {
            response += buffer.prefix(count)
        }
        session.shutdown()
        #expect(String(decoding: response, as: UTF8.self).hasSuffix("hello anonymous"))
        return resumed
    }

    private func setUp() throws -> (TestTLSServer, TLSClientContext, TestCertificates) {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let context = try TLSClientContext(
            configuration: .init(caFile: certificates.caCertificate, useSystemTrustStore: false))
        return (server, context, certificates)
    }

    @Test func resumesTheNextConnectionToTheSameServer() throws {
        let (server, context, _) = try setUp()
        #expect(try !exchange(context, port: server.port, resumptionPort: server.port))
        #expect(context.sessionCache.count == 1)
        #expect(try exchange(context, port: server.port, resumptionPort: server.port))
        // The resumed connection was granted a session of its own for the one after it.
        #expect(try exchange(context, port: server.port, resumptionPort: server.port))
    }

    @Test func offersASessionOnlyToTheNameAndPortItWasMadeWith() throws {
        let (server, context, _) = try setUp()
        #expect(try !exchange(context, port: server.port, resumptionPort: server.port))
        // The same server under another verified name, or under another port key: full
        // handshakes (the certificate is checked for that name).
        #expect(
            try !exchange(
                context, port: server.port, serverName: "127.0.0.1", resumptionPort: server.port))
        #expect(try !exchange(context, port: server.port, resumptionPort: server.port + 1))
        #expect(context.sessionCache.count == 3)
    }

    @Test func keepsNothingWithoutAPortAndSharesNothingAcrossContexts() throws {
        let (server, context, certificates) = try setUp()
        #expect(try !exchange(context, port: server.port, resumptionPort: nil))
        #expect(context.sessionCache.count == 0)
        #expect(try !exchange(context, port: server.port, resumptionPort: server.port))
        let other = try TLSClientContext(
            configuration: .init(caFile: certificates.caCertificate, useSystemTrustStore: false))
        #expect(try !exchange(other, port: server.port, resumptionPort: server.port))
    }

    @Test func aTLS13SessionIsOfferedOnce() throws {
        let (server, context, _) = try setUp()
        #expect(try !exchange(context, port: server.port, resumptionPort: server.port))
        // Resumed, but gone before the server's next ticket is read (RFC 8446 §C.4).
        #expect(
            try exchange(
                context, port: server.port, resumptionPort: server.port, readResponse: false))
        #expect(context.sessionCache.count == 0)
        #expect(try !exchange(context, port: server.port, resumptionPort: server.port))
    }
}
