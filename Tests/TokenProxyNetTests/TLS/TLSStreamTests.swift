import Foundation
import Glibc
import Testing
import TokenProxyCrypto
import TokenProxyTestSupport

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct TLSStreamTests {
    private func soon() -> ContinuousClock.Instant { .now + .seconds(20) }

    /// A TLS stream to `server` on 127.0.0.1, handshake done.
    func connect(
        to server: TestTLSServer, serverName: String = "localhost",
        configuration: TLSClientConfiguration
    ) throws -> TLSStream {
        let context = try TLSClientContext(configuration: configuration)
        let socket = try SocketStream.connect(
            host: "127.0.0.1", port: server.port, deadline: soon())
        return try TLSStream.connect(
            over: socket, serverName: serverName, context: context, deadline: soon())
    }

    /// Connects to `server`, sends a GET and reads until end of stream.
    private func get(
        from server: TestTLSServer, serverName: String, configuration: TLSClientConfiguration
    ) throws -> (response: String, stream: TLSStream) {
        let stream = try connect(to: server, serverName: serverName, configuration: configuration)
        try stream.write(
            Array("GET / HTTP/1.1\r\nHost: \(serverName)\r\n\r\n".utf8), deadline: soon())
        var response: [UInt8] = []
        for _ in 0..<100 {
            let bytes = try stream.read(maxLength: 4096, deadline: soon())
            if bytes.isEmpty { break }
            response += bytes
        }
        return (String(decoding: response, as: UTF8.self), stream)
    }

    private func expectVerificationFailure(
        _ error: NetError?, host: String, containing parts: [String]
    ) {
        guard case .certificateVerification(let reportedHost, let reason) = error else {
            Issue.record(
                "expected NetError.certificateVerification, got \(String(describing: error))")
            return
        }
        #expect(reportedHost == host)
        for part in parts {
            #expect(reason.contains(part), "\(reason)")
        }
    }

    @Test func handshakeAndRequestSucceedWithCAFile() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let (response, stream) = try get(
            from: server, serverName: "localhost",
            configuration: .init(caFile: certificates.caCertificate))
        defer { stream.close() }
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.hasSuffix("\r\n\r\nhello anonymous"))
        #expect(!stream.peerClosedWithoutCloseNotify)
        #expect(try stream.read(maxLength: 16, deadline: soon()).isEmpty)
    }

    @Test func verifiesAnIPAddressLiteral() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let (response, stream) = try get(
            from: server, serverName: "127.0.0.1",
            configuration: .init(caFile: certificates.caCertificate, useSystemTrustStore: false))
        stream.close()
        #expect(response.hasSuffix("hello anonymous"))
    }

    @Test func unknownIssuerFailsWithCAFileHint() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let error = #expect(throws: NetError.self) {
            _ = try get(from: server, serverName: "localhost", configuration: .init())
        }
        expectVerificationFailure(
            error, host: "localhost",
            containing: ["unable to get local issuer certificate", "--ca-file"])
    }

    @Test func wrongHostNameFailsVerification() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let error = #expect(throws: NetError.self) {
            _ = try get(
                from: server, serverName: "wrong.example",
                configuration: .init(caFile: certificates.caCertificate))
        }
        expectVerificationFailure(
            error, host: "wrong.example", containing: ["hostname mismatch", "wrong.example"])
    }

    @Test func presentsClientCertificateForMutualTLS() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey,
            clientCA: certificates.caCertificate)
        let configuration = TLSClientConfiguration(
            caFile: certificates.caCertificate,
            clientCertificateFile: certificates.clientCertificate,
            clientKeyFile: certificates.clientKey)
        let (response, stream) = try get(
            from: server, serverName: "localhost", configuration: configuration)
        stream.close()
        #expect(response.hasSuffix("hello test-client"))

        // Without the certificate the server refuses (during the handshake, or with a TLS 1.3
        // alert on the first read).
        #expect(throws: NetError.self) {
            _ = try get(
                from: server, serverName: "localhost",
                configuration: .init(caFile: certificates.caCertificate))
        }
    }

    @Test func reportsEndOfStreamWithoutCloseNotify() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey,
            ending: .abrupt)
        let (response, stream) = try get(
            from: server, serverName: "localhost",
            configuration: .init(caFile: certificates.caCertificate))
        defer { stream.close() }
        #expect(response.hasSuffix("hello anonymous"))
        #expect(stream.peerClosedWithoutCloseNotify)
        #expect(try stream.read(maxLength: 16, deadline: soon()).isEmpty)
    }

    @Test func idleConnectionIsNotReadableAfterSessionTickets() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let stream = try connect(
            to: server, configuration: .init(caFile: certificates.caCertificate))
        defer { stream.close() }
        // TLS 1.3 servers send session tickets right after the handshake: the socket becomes
        // readable, yet the connection is idle and reusable.
        var pollFD = pollfd(fd: stream.fileDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&pollFD, 1, 2_000)
        #expect(!stream.isReadableOrClosed())
        try stream.write(Array("GET / HTTP/1.1\r\n\r\n".utf8), deadline: soon())
        #expect(try !stream.read(maxLength: 4096, deadline: soon()).isEmpty)
    }

    @Test func closeIsIdempotentAndLaterCallsThrowStreamClosed() throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let stream = try connect(
            to: server, configuration: .init(caFile: certificates.caCertificate))
        stream.close()
        stream.close()
        #expect(stream.fileDescriptor == -1)
        #expect(stream.isReadableOrClosed())
        #expect(throws: NetError.self) { try stream.write([1], deadline: soon()) }
    }

}

extension TLSStreamTests {
    @Test func handshakeTimesOutWhenServerNeverAnswers() throws {
        let listener = try TestListener.tcp()
        listener.acceptOne { _ = TestPeer.readToEnd($0) }
        let context = try TLSClientContext(configuration: .init())
        let socket = try SocketStream.connect(
            host: "127.0.0.1", port: listener.port, deadline: .now + .seconds(10))
        let error = #expect(throws: NetError.self) {
            _ = try TLSStream.connect(
                over: socket, serverName: "localhost", context: context,
                deadline: .now + .milliseconds(100))
        }
        guard case .timedOut(let operation) = error else {
            Issue.record("expected NetError.timedOut, got \(String(describing: error))")
            return
        }
        #expect(operation == "TLS handshake with 127.0.0.1:\(listener.port)")
        #expect(socket.fileDescriptor == -1)
        listener.waitUntilFinished()
    }

    @Test func writeToClosedPeerThrowsInsteadOfRaisingSIGPIPE() throws {
        // The test process keeps SIGPIPE's default action (terminate): OpenSSL's stock socket BIO
        // would kill it here.
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey,
            ending: .abrupt)
        let stream = try connect(
            to: server, configuration: .init(caFile: certificates.caCertificate))
        defer { stream.close() }
        try stream.write(Array("GET / HTTP/1.1\r\n\r\n".utf8), deadline: soon())
        // The server answers and closes without close_notify; keep writing without reading until
        // the kernel reports the closed connection (EPIPE or ECONNRESET), bounded.
        var pollFD = pollfd(fd: stream.fileDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&pollFD, 1, 5_000)
        let error = #expect(throws: NetError.self) {
            for _ in 0..<50 {
                try stream.write([UInt8](repeating: 0x61, count: 1024), deadline: soon())
                _ = poll(nil, 0, 20)
            }
        }
        guard case .io(_, "SSL_write", let errno) = error else {
            Issue.record("expected NetError.io from SSL_write, got \(String(describing: error))")
            return
        }
        #expect(errno == EPIPE || errno == ECONNRESET)
    }
}
