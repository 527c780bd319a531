import Foundation
import Glibc
import Testing
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyTestSupport

@testable import TokenProxyNet

/// TLS sessions read ahead (one `read(2)` fills OpenSSL's record buffer): records that arrive
/// together leave the socket together, and the ones behind the first wait in OpenSSL where
/// `SSL_pending` does not count them and epoll does not announce them. The upstream here writes
/// its TLS records itself (Python's `SSLObject` over memory BIOs), so the test decides exactly
/// which records share a TCP send.
@Suite(.timeLimit(.minutes(1)))
struct UpstreamTLSReadAheadTests {
    /// A python3 TLS upstream for one connection. `mode` `two-records`: answers a request with
    /// its head and its body as two TLS records in one TCP send. `split-record`: answers an
    /// upgrade request with a 101, then sends one 3,000-byte record in two TCP sends 1 s
    /// apart. Either way it then keeps the connection open, silent.
    final class RecordWritingUpstream: Sendable {
        var port: Int { server.port }
        private let server: PythonScriptServer

        init(certificate: String, key: String, mode: String) throws {
            server = try PythonScriptServer(
                script: Self.script, arguments: [certificate, key, mode], name: "TLS upstream")
        }

        static let script = """
            import socket, ssl, sys, time
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            mode = sys.argv[3]
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            listener.settimeout(30)
            print(listener.getsockname()[1], flush=True)
            conn, _ = listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = context.wrap_bio(incoming, outgoing, server_side=True)
            def flush():
                data = outgoing.read()
                if data:
                    conn.sendall(data)
            def receive():
                flush()
                data = conn.recv(65536)
                if not data:
                    sys.exit(0)
                incoming.write(data)
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    receive()
            flush()
            head = b""
            while b"\\r\\n\\r\\n" not in head:
                try:
                    head += tls.read(65536)
                except ssl.SSLWantReadError:
                    receive()
            flush()
            if mode == "two-records":
                tls.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\n\\r\\n")
                tls.write(b"r" * 100)
                conn.sendall(outgoing.read())
            else:
                tls.write(b"HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n"
                          b"Connection: Upgrade\\r\\n\\r\\n")
                flush()
                time.sleep(0.2)
                tls.write(b"s" * 3000)
                record = outgoing.read()
                conn.sendall(record[:1000])
                time.sleep(1.0)
                conn.sendall(record[1000:])
            time.sleep(30)
            """
    }

    private static func proxy(
        to upstream: RecordWritingUpstream, certificates: TestCertificates
    ) throws -> ProxyTestHarness {
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
                    authorization: "Bearer t", routeName: "read-ahead"))
        }
        return try ProxyTestHarness(delegate: delegate)
    }

    @Test func aRecordReadAheadBehindTheHeadReachesTheClient() async throws {
        let certificates = try TestCertificates.generate()
        let upstream = try RecordWritingUpstream(
            certificate: certificates.serverCertificate, key: certificates.serverKey,
            mode: "two-records")
        let proxy = try Self.proxy(to: upstream, certificates: certificates)
        let client = try proxy.client()
        let started = ContinuousClock.now
        client.request("GET", "/x")
        // The body's record left the socket with the head's: no epoll event announces it.
        let response = try #require(await offPool { client.readResponse() })
        #expect(response.status == 200)
        #expect(response.body == Array(repeating: UInt8(ascii: "r"), count: 100))
        #expect(ContinuousClock.now - started < .seconds(5))
        await proxy.stop()
    }

    @Test func aRecordSplitAcrossSendsIsWaitedForWithoutSpinning() async throws {
        let certificates = try TestCertificates.generate()
        let upstream = try RecordWritingUpstream(
            certificate: certificates.serverCertificate, key: certificates.serverKey,
            mode: "split-record")
        let proxy = try Self.proxy(to: upstream, certificates: certificates)
        let client = try proxy.client()
        client.send(
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        let response = try #require(await offPool { client.readResponse() })
        #expect(response.status == 101)
        // While a third of the record waits in OpenSSL for the rest (1 s), the loop must
        // sleep in epoll, not pass over the partial record again and again.
        let cpuBefore = Self.processCPUTime()
        let bytes = await offPool { client.readRaw(atLeast: 3000) }
        let cpuUsed = Self.processCPUTime() - cpuBefore
        #expect(bytes == Array(repeating: UInt8(ascii: "s"), count: 3000))
        #expect(cpuUsed < 0.25, "the proxy used \(cpuUsed) s of CPU while waiting for a record")
        await proxy.stop()
    }

    /// User + system CPU seconds of this process so far.
    private static func processCPUTime() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double {
            Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000
        }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
