import Foundation
import Testing
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyTestSupport

@testable import TokenProxyNet

/// Upstream connections: pooling, staleness and TLS.
@Suite(.timeLimit(.minutes(1)))
struct ProxyUpstreamPoolTests {
    private static func httpsForward(port: Int, tls: TLSClientContext, host: String = "localhost")
        -> FakeProxyDelegate
    {
        FakeProxyDelegate { head in
            .forward(
                ProxyForward(
                    upstream: ProxyUpstream(
                        scheme: "https", host: host, port: port, tlsProfile: "test"),
                    tls: tls, target: head.target, hostHeader: "localhost",
                    authorization: "Bearer t", routeName: "tls-route"))
        }
    }

    @Test func forwardsToAnHTTPSUpstreamVerifiedWithARouteCA() async throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let tls = try TLSClientContext(
            configuration: TLSClientConfiguration(
                caFile: certificates.caCertificate, useSystemTrustStore: false))
        let proxy = try ProxyTestHarness(delegate: Self.httpsForward(port: server.port, tls: tls))
        let client = try proxy.client()
        client.request("GET", "/")
        let response = try #require(client.readResponse())
        #expect(response.status == 200 && response.text == "hello anonymous")
        // The upstream said `Connection: close`; the client connection stays open regardless.
        client.request("GET", "/again")
        #expect(client.readResponse()?.text == "hello anonymous")
        await proxy.stop()
    }

    @Test func untrustedUpstreamCertificateIs502WithTheReason() async throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let tls = try TLSClientContext(configuration: TLSClientConfiguration())
        let delegate = Self.httpsForward(port: server.port, tls: tls)
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("GET", "/")
        let response = try #require(client.readResponse())
        #expect(response.status == 502)
        #expect(response.text.contains("tls-route") && response.text.contains("certificate"))
        #expect(delegate.waitForEvents(1).first?.failure?.contains("certificate") == true)
        await proxy.stop()
    }

    @Test func staleIdleConnectionIsReplacedAndTheRequestSucceeds() async throws {
        // The first response closes right after being sent, like an upstream whose idle
        // timeout fired between requests; the proxy must not reuse that connection.
        let upstream = try UpstreamTestServer { request in
            request.head.target == "/first"
                ? .sendAndClose("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
                : .send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
        }
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.request("GET", "/first")
        #expect(client.readResponse()?.text == "first")
        client.request("GET", "/second")
        #expect(client.readResponse()?.text == "second")
        #expect(upstream.connectionCount == 2)
        await proxy.stop()
    }

    @Test func keepsAtMostTheConfiguredIdleConnections() async throws {
        let pool = ProxyUpstreamPool(maxIdlePerUpstream: 1, idleTimeout: .seconds(60))
        let upstream = try UpstreamTestServer()
        let forward = ProxyForward(
            upstream: ProxyUpstream(scheme: "http", host: "127.0.0.1", port: upstream.port),
            tls: nil, target: "/", hostHeader: "h", authorization: nil, routeName: "r")
        let first = try pool.connect(forward, deadline: .now + .seconds(5))
        let second = try pool.connect(forward, deadline: .now + .seconds(5))
        pool.release(first)
        pool.release(second)
        #expect(pool.idleCount == 1)
        #expect(pool.acquire(forward.upstream) === first)
        #expect(pool.acquire(forward.upstream) == nil)
        pool.closeAll()
    }
}
