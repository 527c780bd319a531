import Foundation
import Glibc
import Testing
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyTestSupport

@testable import TokenProxyNet

/// A WebSocket tunnel to a TLS upstream whose bytes wait decrypted inside OpenSSL
/// (`SSL_pending`), where no epoll event announces them: the relay must drain them anyway.
@Suite(.timeLimit(.minutes(1)))
struct TunnelTLSDrainTests {
    /// A python3 TLS upstream that answers one upgrade request with a 101 and then `size`
    /// bytes in one TLS record, and keeps the connection open without sending more.
    final class UpgradingTLSUpstream: Sendable {
        var port: Int { server.port }
        private let server: PythonScriptServer

        init(certificate: String, key: String, size: Int) throws {
            server = try PythonScriptServer(
                script: Self.script, arguments: [certificate, key, String(size)],
                name: "TLS upstream")
        }

        static let script = """
            import socket, ssl, sys, time
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            listener.settimeout(30)
            print(listener.getsockname()[1], flush=True)
            conn, _ = listener.accept()
            tls = context.wrap_socket(conn, server_side=True)
            head = b""
            while b"\\r\\n\\r\\n" not in head:
                head += tls.recv(4096)
            tls.sendall(b"HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n"
                        b"Connection: Upgrade\\r\\n\\r\\n")
            time.sleep(0.2)
            tls.sendall(b"w" * int(sys.argv[3]))
            time.sleep(30)
            """
    }

    @Test func bytesHeldByOpenSSLReachTheClientWithoutAnotherSocketEvent() async throws {
        let certificates = try TestCertificates.generate()
        // One record of 12,000 bytes; the proxy reads 512 at a time, 8 reads per event: most
        // of the record stays decrypted inside OpenSSL after the first event.
        let size = 12_000
        let upstream = try UpgradingTLSUpstream(
            certificate: certificates.serverCertificate, key: certificates.serverKey, size: size)
        let tls = try TLSClientContext(
            configuration: TLSClientConfiguration(
                caFile: certificates.caCertificate, useSystemTrustStore: false))
        let port = upstream.port
        let delegate = FakeProxyDelegate { head in
            .forward(
                ProxyForward(
                    upstream: ProxyUpstream(
                        scheme: "https", host: "localhost", port: port, tlsProfile: "t"),
                    tls: tls, target: head.target, hostHeader: "localhost",
                    authorization: "Bearer t", routeName: "ws"))
        }
        var configuration = ProxyEngineConfiguration()
        configuration.relayBufferBytes = 512
        let proxy = try ProxyTestHarness(delegate: delegate, configuration: configuration)
        let client = try proxy.client()
        client.send(
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        let response = try #require(client.readResponse())
        #expect(response.status == 101)
        let started = ContinuousClock.now
        let bytes = client.readRaw(atLeast: size)
        #expect(bytes.count == size)
        #expect(bytes.allSatisfy { $0 == UInt8(ascii: "w") })
        #expect(ContinuousClock.now - started < .seconds(5))
        await proxy.stop()
    }
}
